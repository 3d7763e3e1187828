/* cpufreq governor for the VM's CPUs (governor.h). */
#include "host/cpu/governor.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/cleanup.h"
#include "base/cpulist.h"
#include "host/cpu/cpu_prep.h"
#include "host/cpu/governor_ledger.h"
#include "journal/opargs.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

#define OP_GOVERNOR "cpu-governor"
#define OP_GOVERNOR_CLAIM "cpu-governor-claim"

static int gov_path(char *buf, size_t len, int cpu, const char *file)
{
    return host_path(buf, len, HOST_SYS, "/devices/system/cpu/cpu%d/cpufreq/%s", cpu, file);
}

static bool has_cpufreq(int cpu)
{
    char path[PATH_MAX];
    return host_path(path, sizeof(path), HOST_SYS, "/devices/system/cpu/cpu%d/cpufreq", cpu) == 0 &&
           hostfile_exists(path);
}

/* Is `word` one of the space-separated words of `list`? */
static bool word_in(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl)
        if ((p == list || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n'))
            return true;
    return false;
}

/* The CPUs outside `cpus` that share a frequency policy with one of them
 * (cpufreq's affected_cpus, "0 1"): the kernel sets one governor for a
 * whole policy, so they get it too. */
static void policy_neighbours(const struct cpuset_bits *cpus, struct cpuset_bits *out)
{
    cpuset_zero(out);
    for (int c = cpuset_next(cpus, 0); c >= 0; c = cpuset_next(cpus, (unsigned)c + 1)) {
        char path[PATH_MAX], list[1024];
        struct cpuset_bits s;
        if (gov_path(path, sizeof(path), c, "affected_cpus") < 0 ||
            hostfile_read(path, list, sizeof(list)) < 0)
            continue;
        for (char *p = list; *p != '\0'; p++)
            if (*p == ' ')
                *p = ',';
        if (cpulist_parse(list, &s) < 0)
            continue;
        cpuset_remove_all(&s, cpus);
        for (int n = cpuset_next(&s, 0); n >= 0; n = cpuset_next(&s, (unsigned)n + 1))
            cpuset_add(out, (unsigned)n);
    }
}

static int target_cpus(struct host_prep *hp, struct cpuset_bits *cpus, struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    if (p->cpu.governor_scope == VM_GOVERNOR_VM_CPUS && p->cpu.vcpus.n > 0) {
        cpuset_zero(cpus);
        for (size_t i = 0; i < p->cpu.vcpus.n; i++)
            cpuset_add(cpus, (unsigned)p->cpu.vcpus.cpus[i]);
        return 0;
    }
    if (p->cpu.governor_scope == VM_GOVERNOR_VM_CPUS)
        host_prep_say(hp, "cpu.governor: no pinned vCPUs (pin.vcpus), so the VM may run on any "
                          "CPU; setting the governor on all of them");
    return cpu_online_set(cpus, err);
}

/* A random claim id (hex). */
static int new_claim_id(char id[GOV_CLAIM_ID_LEN + 1], struct vmrun_error *err)
{
    unsigned char raw[GOV_CLAIM_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vmrun_fail(err, errno, "getrandom");
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

int governor_apply(struct host_prep *hp, struct vmrun_error *err)
{
    const char *want = hp->profile->cpu.governor;
    if (want == NULL)
        return 0;
    struct cpuset_bits cpus;
    int r = target_cpus(hp, &cpus, err);
    if (r < 0)
        return r;

    /* Check every CPU before changing any, so a bad name changes nothing. */
    struct cpuset_bits no_freq, claimed, changed;
    cpuset_zero(&no_freq);
    cpuset_zero(&claimed);
    cpuset_zero(&changed);
    for (int c = cpuset_next(&cpus, 0); c >= 0; c = cpuset_next(&cpus, (unsigned)c + 1)) {
        if (!has_cpufreq(c)) {
            cpuset_add(&no_freq, (unsigned)c);
            continue;
        }
        char path[PATH_MAX], avail[1024];
        if (gov_path(path, sizeof(path), c, "scaling_available_governors") < 0 ||
            (r = hostfile_read(path, avail, sizeof(avail))) < 0)
            return vmrun_fail(err, r < 0 ? -r : ENAMETOOLONG, "read %s", path);
        if (!word_in(avail, want))
            return vmrun_failx(err, EINVAL,
                               "cpu.governor \"%s\" is not available on CPU %d (available: %s)",
                               want, c, avail);
        if (gov_path(path, sizeof(path), c, "scaling_governor") < 0 ||
            strpbrk(path, " \t\n") != NULL)
            return vmrun_failx(err, ENAMETOOLONG, "the cpufreq path of CPU %d", c);
        cpuset_add(&claimed, (unsigned)c);
    }
    char text[1024];
    if (!cpuset_empty(&no_freq)) {
        cpulist_format(&no_freq, text, sizeof(text));
        host_prep_say(hp,
                      "cpu.governor: CPU %s %s no frequency scaling (no cpufreq in sysfs); "
                      "leaving %s alone",
                      text, cpuset_count(&no_freq) > 1 ? "have" : "has",
                      cpuset_count(&no_freq) > 1 ? "them" : "it");
    }
    if (cpuset_empty(&claimed))
        return 0;

    /* The claim: journaled, then in the ledger (which keeps each CPU's
     * host governor from the first claim on), then the governors. */
    __attribute__((cleanup(gov_ledger_close))) struct gov_ledger l = {.lock_fd = -1};
    if ((r = gov_ledger_open(&l, err)) < 0)
        return r;
    struct gov_line claim = {.kind = 'c'};
    if ((r = new_claim_id(claim.id, err)) < 0)
        return r;
    snprintf(claim.governor, sizeof(claim.governor), "%s", want);
    snprintf(claim.vm, sizeof(claim.vm), "%s", hp->profile->name);
    cJSON *args = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(args, "cpus");
    if (args == NULL || list == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "journal governors");
    }
    cJSON_AddStringToObject(args, "claim", claim.id);
    cJSON_AddStringToObject(args, "governor", want);
    for (int c = cpuset_next(&claimed, 0); c >= 0; c = cpuset_next(&claimed, (unsigned)c + 1))
        cJSON_AddItemToArray(list, cJSON_CreateNumber(c));
    if ((r = journal_record(hp->journal, OP_GOVERNOR_CLAIM, args, err)) < 0)
        return r;
    char previous_of_first[64] = "";
    for (int c = cpuset_next(&claimed, 0); c >= 0; c = cpuset_next(&claimed, (unsigned)c + 1)) {
        gov_path(claim.path, sizeof(claim.path), c, "scaling_governor");
        char cur[64];
        if ((r = hostfile_read(claim.path, cur, sizeof(cur))) < 0)
            return vmrun_fail(err, -r, "read %s", claim.path);
        struct gov_line *host = gov_ledger_host(&l, claim.path);
        if (gov_ledger_latest(&l, claim.path) == NULL) {
            /* The first claim on this CPU: what the host had. */
            if (host == NULL) {
                struct gov_line h = {.kind = 'h'};
                snprintf(h.path, sizeof(h.path), "%s", claim.path);
                snprintf(h.governor, sizeof(h.governor), "%s", cur);
                if ((r = gov_ledger_add(&l, &h, err)) < 0)
                    return r;
            } else {
                snprintf(host->governor, sizeof(host->governor), "%s", cur);
            }
        }
        if ((r = gov_ledger_add(&l, &claim, err)) < 0)
            return r;
        if (strcmp(cur, want) != 0) {
            cpuset_add(&changed, (unsigned)c);
            if (previous_of_first[0] == '\0')
                snprintf(previous_of_first, sizeof(previous_of_first), "%s", cur);
        }
    }
    if ((r = gov_ledger_save(&l, err)) < 0)
        return r;
    for (int c = cpuset_next(&changed, 0); c >= 0; c = cpuset_next(&changed, (unsigned)c + 1)) {
        char path[PATH_MAX];
        gov_path(path, sizeof(path), c, "scaling_governor");
        r = hostfile_write(path, want);
        if (r < 0)
            return vmrun_fail(err, -r, "set the governor of CPU %d to %s", c, want);
    }
    r = journal_done(hp->journal, err);
    if (r < 0 || cpuset_empty(&changed))
        return r;
    cpulist_format(&changed, text, sizeof(text));
    host_prep_say(hp, "CPU governor %s on CPU %s (was %s)", want, text, previous_of_first);
    struct cpuset_bits shared;
    policy_neighbours(&changed, &shared);
    if (!cpuset_empty(&shared)) {
        bool one = cpuset_count(&shared) == 1;
        cpulist_format(&shared, text, sizeof(text));
        host_prep_say(hp,
                      "cpu.governor: CPU %s share%s a frequency policy with the VM's CPUs and "
                      "get%s the governor too (the kernel sets one per policy)",
                      text, one ? "s" : "", one ? "s" : "");
    }
    return 0;
}

int governor_claim_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *id = oparg_string(args, "claim");
    if (id == NULL || strlen(id) != GOV_CLAIM_ID_LEN)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_GOVERNOR_CLAIM);
    __attribute__((cleanup(gov_ledger_close))) struct gov_ledger l = {.lock_fd = -1};
    int r = gov_ledger_open(&l, err);
    if (r < 0)
        return r;
    /* Each CPU the claim holds: the latest other claim's governor, or the
     * host's. A CPU whose governor cannot be set keeps the claim (and the
     * host line), so that `vmrun recover` gives it up once the cause is
     * gone; the others are given up now. */
    int first = 0;
    bool found = false;
    for (size_t i = 0; i < l.n;) {
        struct gov_line *self = &l.lines[i];
        if (self->kind != 'c' || strcmp(self->id, id) != 0) {
            i++;
            continue;
        }
        found = true;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s", self->path);
        const struct gov_line *other = NULL;
        for (size_t j = l.n; j-- > 0;)
            if (j != i && l.lines[j].kind == 'c' && strcmp(l.lines[j].path, path) == 0) {
                other = &l.lines[j];
                break;
            }
        const struct gov_line *host = gov_ledger_host(&l, path);
        const char *back = other != NULL ? other->governor : host != NULL ? host->governor : NULL;
        char cur[64];
        int rr = hostfile_read(path, cur, sizeof(cur));
        if (back != NULL && rr == 0 && strcmp(cur, back) != 0)
            rr = hostfile_write(path, back);
        if (rr < 0 && rr != -ENOENT) {
            if (first == 0)
                first = vmrun_fail(err, -rr, "restore the governor %s in %s",
                                   back ? back : "?", path);
            i++;
            continue;
        }
        bool last = other == NULL;
        gov_ledger_remove(&l, self); /* the next line is at i now */
        struct gov_line *h = last ? gov_ledger_host(&l, path) : NULL;
        if (h != NULL) {
            if ((size_t)(h - l.lines) < i)
                i--;
            gov_ledger_remove(&l, h);
        }
    }
    if (!found)
        return 0; /* given up already, or never made */
    if ((r = gov_ledger_save(&l, err)) < 0)
        return r;
    return first;
}

void governor_claim_describe(const cJSON *args, char *buf, size_t len)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(args, "cpus");
    const char *g = oparg_string(args, "governor");
    snprintf(buf, len, "give up the cpufreq governor %s on %d CPU(s)", g != NULL ? g : "?",
             cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0);
}

/* The record of a vmrun from before the ledger: each CPU's previous
 * governor, put back as it was. */
int governor_undo(const cJSON *args, struct vmrun_error *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(args, "cpus");
    if (!cJSON_IsArray(list))
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_GOVERNOR);
    int first = 0;
    const cJSON *one;
    cJSON_ArrayForEach(one, list)
    {
        long cpu;
        const char *prev = oparg_string(one, "previous");
        if (oparg_long(one, "cpu", 0, CPUSET_MAX - 1, &cpu) < 0 || prev == NULL ||
            strchr(prev, '/') != NULL) {
            if (first == 0)
                first = vmrun_failx(err, EINVAL, "malformed %s record", OP_GOVERNOR);
            continue;
        }
        char path[PATH_MAX], cur[64];
        if (gov_path(path, sizeof(path), (int)cpu, "scaling_governor") < 0)
            continue;
        int r = hostfile_read(path, cur, sizeof(cur));
        if (r == -ENOENT)
            continue; /* CPU offline or cpufreq gone: nothing to put back */
        if (r == 0 && strcmp(cur, prev) == 0)
            continue; /* never changed, or already put back */
        r = hostfile_write(path, prev);
        if (r < 0 && first == 0)
            first = vmrun_fail(err, -r, "restore governor %s on CPU %ld", prev, cpu);
    }
    return first;
}

void governor_describe(const cJSON *args, char *buf, size_t len)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(args, "cpus");
    snprintf(buf, len, "restore the cpufreq governor of %d CPU(s)",
             cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0);
}
