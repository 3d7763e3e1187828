/* The "qemu" and "boot" sections of a profile: which QEMU runs (binary,
 * machine type, accelerator, extra arguments) and a direct kernel boot
 * (kernel, initrd, command line). Pure, like the rest of the parser. */
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

const char *const profile_qemu_keys[] = {"binary", "machine", "accel", "extra_args", NULL};
const char *const profile_boot_keys[] = {"kernel", "initrd", "cmdline", NULL};
static const char *const accel_names[] = {"kvm", "tcg", NULL};

void profile_parse_qemu(struct pj *pj, const cJSON *root, struct vm_profile *p,
                        struct profile_where *w)
{
    const cJSON *q = pj_member(root, "qemu");
    if (q == NULL)
        return;
    size_t saved = pj_push_key(pj, "qemu");
    if (pj_object(pj, q, profile_qemu_keys)) {
        const cJSON *bin = pj_member(q, "binary");
        if (bin != NULL) {
            size_t s2 = pj_push_key(pj, "binary");
            const char *expected = "a command name or an absolute path";
            if (pj_string(pj, bin, PJ_NONEMPTY, expected, &p->qemu.binary) > 0 &&
                strchr(p->qemu.binary, '/') != NULL && p->qemu.binary[0] != '/') {
                char got[128];
                pj_describe(bin, got, sizeof(got));
                pj_error(pj, bin, "expected %s, got %s", expected, got);
            }
            pj_pop(pj, s2);
        }
        const cJSON *m = pj_member(q, "machine");
        if (m != NULL) {
            size_t s2 = pj_push_key(pj, "machine");
            const char *expected = "a q35 machine type (\"q35\" or \"pc-q35-X.Y\")";
            if (pj_string(pj, m, PJ_NONEMPTY | PJ_NAME, expected, &p->qemu.machine) > 0 &&
                strcmp(p->qemu.machine, "q35") != 0 &&
                strncmp(p->qemu.machine, "pc-q35-", 7) != 0) {
                char got[128];
                pj_describe(m, got, sizeof(got));
                pj_error(pj, m, "expected %s, which vmrun's PCIe layout needs, got %s", expected,
                         got);
            }
            pj_pop(pj, s2);
        }
        int accel;
        if (pj_get_enum(pj, q, "accel", accel_names, &accel) > 0)
            p->qemu.accel = (enum vm_accel)accel;
        w->qemu_accel = pj_member(q, "accel");
        const cJSON *ea = pj_member(q, "extra_args");
        if (ea != NULL) {
            size_t s2 = pj_push_key(pj, "extra_args");
            if (pj_is_array(pj, ea, "an array of strings")) {
                size_t n = pj_array_len(ea);
                if (pj_too_long(pj, ea, n, VM_EXTRA_ARGS_MAX))
                    n = 0;
                p->qemu.extra_args = calloc(n + 1, sizeof(char *));
                size_t i = 0;
                for (const cJSON *c = ea->child; c != NULL && i < n && p->qemu.extra_args != NULL;
                     c = c->next, i++) {
                    size_t s3 = pj_push_index(pj, i);
                    char *arg = NULL;
                    if (pj_string(pj, c, PJ_NONEMPTY, "a QEMU argument (a non-empty string)",
                                  &arg) > 0)
                        p->qemu.extra_args[p->qemu.n_extra_args++] = arg;
                    pj_pop(pj, s3);
                }
            }
            pj_pop(pj, s2);
        }
    }
    pj_pop(pj, saved);
}

void profile_parse_boot(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const cJSON *b = pj_member(root, "boot");
    if (b == NULL)
        return;
    size_t saved = pj_push_key(pj, "boot");
    if (pj_object(pj, b, profile_boot_keys)) {
        pj_get_string(pj, b, "kernel", PJ_NONEMPTY, "the path of a kernel image", &p->boot.kernel);
        pj_get_string(pj, b, "initrd", PJ_NONEMPTY, "the path of an initrd", &p->boot.initrd);
        pj_get_string(pj, b, "cmdline", 0, "a kernel command line", &p->boot.cmdline);
        bool has_kernel = pj_member(b, "kernel") != NULL;
        const char *const needs[] = {"initrd", "cmdline"};
        for (size_t i = 0; i < ARRAY_SIZE(needs); i++) {
            const cJSON *v = pj_member(b, needs[i]);
            if (v != NULL && !has_kernel) {
                size_t s2 = pj_push_key(pj, needs[i]);
                pj_error(pj, v, "needs boot.kernel: it is for direct kernel boot");
                pj_pop(pj, s2);
            }
        }
    }
    pj_pop(pj, saved);
}
