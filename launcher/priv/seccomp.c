/* vmrun's own seccomp filters (seccomp.h), assembled by hand. */
#include "priv/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/input.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp.c: add this architecture's AUDIT_ARCH"
#endif

/* Jump targets: the next instruction, a terminal return at the end of the
 * program, or (positive) that many instructions further. */
enum { T_NEXT = 0, T_ALLOW = -1, T_DENY = -2, T_KILL = -3 };

#define PROG_MAX 200

struct prog {
    struct sock_filter f[PROG_MAX];
    int jt[PROG_MAX], jf[PROG_MAX];
    size_t n;
    bool full;
};

static size_t put(struct prog *p, uint16_t code, uint32_t k, int jt, int jf)
{
    if (p->n == PROG_MAX) {
        p->full = true;
        return PROG_MAX - 1;
    }
    p->f[p->n] = (struct sock_filter){.code = code, .k = k};
    p->jt[p->n] = jt;
    p->jf[p->n] = jf;
    return p->n++;
}

static void load(struct prog *p, uint32_t offset)
{
    put(p, BPF_LD | BPF_W | BPF_ABS, offset, T_NEXT, T_NEXT);
}

static size_t jeq(struct prog *p, uint32_t k, int jt, int jf)
{
    return put(p, BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf);
}

#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_HI(i) (ARG_LO(i) + 4)

/* Every filter begins the same way: the program's own ABI only, then the
 * call's number in A. */
static void prologue(struct prog *p)
{
    load(p, offsetof(struct seccomp_data, arch));
    jeq(p, NATIVE_ARCH, T_NEXT, T_KILL);
    load(p, offsetof(struct seccomp_data, nr));
#ifdef X32_BIT
    put(p, BPF_JMP | BPF_JGE | BPF_K, X32_BIT, T_KILL, T_NEXT);
#endif
}

/* Resolve the targets, append the three returns, install. */
static int install(struct prog *p, struct vmrun_error *err)
{
    size_t body = p->n;
    put(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, T_NEXT, T_NEXT);
    put(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA), T_NEXT, T_NEXT);
    put(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, T_NEXT, T_NEXT);
    if (p->full)
        return vmrun_failx(err, E2BIG, "seccomp filter too long");
    for (size_t i = 0; i < body; i++) {
        if (BPF_CLASS(p->f[i].code) != BPF_JMP)
            continue;
        int t[2] = {p->jt[i], p->jf[i]};
        uint8_t off[2];
        for (int k = 0; k < 2; k++) {
            long o = t[k] >= 0 ? t[k] : (long)(body + (size_t)(-t[k] - 1)) - (long)(i + 1);
            if (o < 0 || o > 255)
                return vmrun_failx(err, E2BIG, "seccomp filter jump out of range");
            off[k] = (uint8_t)o;
        }
        p->f[i].jt = off[0];
        p->f[i].jf = off[1];
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return vmrun_fail(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
    struct sock_fprog fprog = {.len = (unsigned short)p->n, .filter = p->f};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
        return vmrun_fail(err, errno, "install a seccomp filter");
    return 0;
}

int seccomp_keep_evdev_grabs(struct vmrun_error *err)
{
    struct prog p = {.n = 0};
    prologue(&p);
    jeq(&p, SYS_ioctl, T_NEXT, T_ALLOW);
    load(&p, ARG_LO(1)); /* the request: the kernel takes 32 bits of it */
    jeq(&p, (uint32_t)EVIOCREVOKE, T_DENY, T_NEXT);
    jeq(&p, (uint32_t)EVIOCGRAB, T_NEXT, T_ALLOW);
    /* EVIOCGRAB's argument is a pointer-sized value: any bit set grabs. */
    load(&p, ARG_LO(2));
    jeq(&p, 0, T_NEXT, T_ALLOW);
    load(&p, ARG_HI(2));
    jeq(&p, 0, T_DENY, T_ALLOW);
    return install(&p, err);
}

int seccomp_allow_only(const int *nrs, size_t n_nrs, const unsigned long *ioctls, size_t n_ioctls,
                       struct vmrun_error *err)
{
    struct prog p = {.n = 0};
    prologue(&p);
    for (size_t i = 0; i < n_nrs; i++) {
        if (nrs[i] == SYS_ioctl) {
            /* The requests allowed; any other ioctl fails (EPERM). */
            size_t at = jeq(&p, SYS_ioctl, T_NEXT, 0);
            size_t start = p.n;
            load(&p, ARG_LO(1));
            for (size_t k = 0; k < n_ioctls; k++)
                jeq(&p, (uint32_t)ioctls[k], T_ALLOW, T_NEXT);
            put(&p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, T_NEXT, T_NEXT);
            p.jf[at] = (int)(p.n - start);
            load(&p, offsetof(struct seccomp_data, nr));
        } else if (nrs[i] == SYS_mmap) {
            size_t at = jeq(&p, SYS_mmap, T_NEXT, 0);
            size_t start = p.n;
            load(&p, ARG_LO(2));
            put(&p, BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, T_DENY, T_ALLOW);
            p.jf[at] = (int)(p.n - start);
            load(&p, offsetof(struct seccomp_data, nr));
        } else if (nrs[i] == SYS_fcntl) {
            size_t at = jeq(&p, SYS_fcntl, T_NEXT, 0);
            size_t start = p.n;
            load(&p, ARG_LO(1));
            static const uint32_t cmds[] = {F_GETFL, F_SETFL, F_GETFD, F_SETFD};
            for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
                jeq(&p, cmds[k], T_ALLOW, T_NEXT);
            put(&p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, T_NEXT, T_NEXT);
            p.jf[at] = (int)(p.n - start);
            load(&p, offsetof(struct seccomp_data, nr));
        } else {
            jeq(&p, (uint32_t)nrs[i], T_ALLOW, T_NEXT);
        }
    }
    put(&p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, T_NEXT, T_NEXT);
    return install(&p, err);
}
