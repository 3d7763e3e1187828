/* The host-change journal (see journal.h for the contract). */
#include "journal/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/seams.h"

int journal_open(struct journal *j, const char *path, struct vmrun_error *err)
{
    j->fd = -1;
    j->seq = 0;
    if (strlen(path) >= sizeof(j->path))
        return vmrun_failx(err, ENAMETOOLONG, "journal path too long: %s", path);
    strcpy(j->path, path);

    /* Continue the numbering of what is already there (a journal left by a
     * dead supervisor is recovered before a new start, so normally this is
     * an empty or absent file). */
    struct journal_entries old = {0};
    int r = journal_load(path, &old, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < old.n; i++)
        if (old.items[i].seq > j->seq)
            j->seq = old.items[i].seq;
    journal_entries_free(&old);

    j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0)
        return vmrun_fail(err, errno, "open journal %s", path);
    return 0;
}

void journal_close(struct journal *j)
{
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int journal_record(struct journal *j, const char *op, cJSON *args, struct vmrun_error *err)
{
    if (j->fd < 0) {
        cJSON_Delete(args);
        return vmrun_failx(err, EBADF, "journal %s is not open", j->path);
    }
    cJSON *rec = cJSON_CreateObject();
    if (rec == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "journal record");
    }
    cJSON_AddNumberToObject(rec, "seq", j->seq + 1);
    cJSON_AddStringToObject(rec, "op", op);
    cJSON_AddItemToObject(rec, "args", args != NULL ? args : cJSON_CreateObject());
    cleanup_free char *line = cJSON_PrintUnformatted(rec);
    cJSON_Delete(rec);
    if (line == NULL)
        return vmrun_fail(err, ENOMEM, "journal record");

    size_t len = strlen(line);
    cleanup_free char *buf = malloc(len + 2);
    if (buf == NULL)
        return vmrun_fail(err, ENOMEM, "journal record");
    memcpy(buf, line, len);
    buf[len] = '\n';
    /* One write() of the whole line: a crash leaves at worst a torn last
     * line, which journal_load() ignores. */
    int r = write_all(j->fd, buf, len + 1);
    if (r < 0)
        return vmrun_fail(err, -r, "write journal %s", j->path);
    if (fsync(j->fd) < 0)
        return vmrun_fail(err, errno, "fsync journal %s", j->path);
    j->seq++;
    return 0;
}

static unsigned seam_seq(enum seam s)
{
    const char *v = seam_value(s);
    if (v == NULL)
        return 0;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    return *end == '\0' ? (unsigned)n : 0;
}

int journal_done(struct journal *j, struct vmrun_error *err)
{
    /* Fault injection in the test build (sys/seams.h): die or fail right
     * after the change announced by record N was made. */
    if (j->seq != 0 && seam_seq(SEAM_KILL_AFTER) == j->seq)
        raise(SIGKILL);
    if (j->seq != 0 && seam_seq(SEAM_FAIL_AFTER) == j->seq)
        return vmrun_failx(err, EIO, "injected failure after journal step %u", j->seq);
    return 0;
}

void journal_entries_free(struct journal_entries *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->items[i].op);
        cJSON_Delete(e->items[i].args);
    }
    free(e->items);
    e->items = NULL;
    e->n = 0;
}

static int parse_line(const char *line, size_t len, struct journal_entry *out)
{
    cJSON *rec = cJSON_ParseWithLength(line, len);
    if (rec == NULL)
        return -EINVAL;
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(rec, "op");
    cJSON *args = cJSON_DetachItemFromObjectCaseSensitive(rec, "args");
    if (!cJSON_IsNumber(seq) || !cJSON_IsString(op) || !cJSON_IsObject(args)) {
        cJSON_Delete(args);
        cJSON_Delete(rec);
        return -EINVAL;
    }
    out->seq = (unsigned)seq->valuedouble;
    out->op = strdup(op->valuestring);
    out->args = args;
    cJSON_Delete(rec);
    if (out->op == NULL) {
        cJSON_Delete(args);
        return -ENOMEM;
    }
    return 0;
}

int journal_load(const char *path, struct journal_entries *out, struct vmrun_error *err)
{
    out->items = NULL;
    out->n = 0;
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return vmrun_fail(err, errno, "open journal %s", path);
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "stat journal %s", path);
    if (st.st_size > 16 * 1024 * 1024)
        return vmrun_failx(err, EFBIG, "journal %s is implausibly large", path);
    size_t size = (size_t)st.st_size;
    cleanup_free char *buf = malloc(size + 1);
    if (buf == NULL)
        return vmrun_fail(err, ENOMEM, "read journal %s", path);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vmrun_fail(err, errno, "read journal %s", path);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';

    size_t cap = 0;
    const char *p = buf, *end = buf + got;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break; /* torn last line: the change it announced never started */
        struct journal_entry e;
        if (parse_line(p, (size_t)(nl - p), &e) == 0) {
            if (out->n == cap) {
                cap = cap ? cap * 2 : 16;
                struct journal_entry *ni = realloc(out->items, cap * sizeof(*ni));
                if (ni == NULL) {
                    free(e.op);
                    cJSON_Delete(e.args);
                    journal_entries_free(out);
                    return vmrun_fail(err, ENOMEM, "read journal %s", path);
                }
                out->items = ni;
            }
            out->items[out->n++] = e;
        }
        p = nl + 1;
    }
    return 0;
}
