/* vmrun start [--detach] [--force] PROFILE */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "priv/access.h"
#include "priv/priv_drop.h"
#include "priv/trust.h"
#include "supervisor/preflight.h"
#include "supervisor/session.h"
#include "supervisor/supervisor.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: vmrun start [--detach] [--force] [--trust-profile] PROFILE\n"
            "       vmrun PROFILE\n\n"
            "Prepare the host, start the VM with its vCPUs pinned, and supervise it until it\n"
            "powers off; then give everything back. Ctrl-C (or SIGTERM, SIGHUP, 'vmrun stop')\n"
            "asks the guest to power off through ACPI; a second one, or shutdown.timeout,\n"
            "makes QEMU quit.\n\n"
            "  --detach   run in the background; return once the VM runs (exit 0) or has\n"
            "             failed (exit 1, the reason on stderr)\n"
            "  --force    go on despite host users of a device that cannot lose data\n"
            "             (a display on the GPU, an interface that is up); never for storage\n"
            CLI_TRUST_PROFILE_HELP);
}

static bool needs_root(const struct vm_profile *p)
{
    return p->n_pci > 0 || p->memory.hugepage_kb != 0 || p->cpu.governor != NULL ||
           p->cpu.isolate || p->cpu.realtime;
}

/* --detach: the child becomes the supervisor in a new session; the parent
 * waits for its first word ("ok" or "error: ...") and exits with it. */
static int detach_and_supervise(const struct vm_profile *p, struct supervisor_opts *o)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        perror("vmrun: pipe");
        return VMRUN_EXIT_FAILURE;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("vmrun: fork");
        return VMRUN_EXIT_FAILURE;
    }
    if (pid == 0) {
        close(pfd[0]);
        setsid();
        o->ready_fd = pfd[1];
        o->to_log = true;
        struct vmrun_error err = {0};
        struct vm_left left = {.host_restored = true};
        enum vm_outcome out = supervise_vm(p, o, &left, &err);
        _exit(out == VM_NOT_STARTED || out == VM_QEMU_FAILED || !left.host_restored
                  ? VMRUN_EXIT_FAILURE
                  : VMRUN_EXIT_OK);
    }
    close(pfd[1]);
    char buf[VMRUN_ERROR_MSG_MAX + 16];
    size_t got = 0;
    ssize_t n;
    /* "ok\n" comes while the supervisor lives on: stop at its newline. An
     * error may span several lines (a group that is not viable lists its
     * members) and ends with the supervisor closing the pipe: read to EOF. */
    while (got < sizeof(buf) - 1 &&
           ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0) {
            got += (size_t)n;
            if (strncmp(buf, "ok", got < 2 ? got : 2) == 0 && memchr(buf, '\n', got) != NULL)
                break;
        }
    close(pfd[0]);
    buf[got] = '\0';
    if (strncmp(buf, "ok", 2) == 0) {
        printf("'%s' is running in the background; 'vmrun status %s', 'vmrun stop %s'\n", p->name,
               p->name, p->name);
        return VMRUN_EXIT_OK;
    }
    while (got > 0 && buf[got - 1] == '\n')
        buf[--got] = '\0';
    if (strncmp(buf, "error: ", 7) == 0)
        fprintf(stderr, "vmrun: %s\n", buf + 7);
    else
        fprintf(stderr, "vmrun: the supervisor of '%s' ended before the VM ran\n", p->name);
    return VMRUN_EXIT_FAILURE;
}

struct foreground {
    const struct vm_profile *p;
    const struct supervisor_opts *o;
};

/* The supervisor in the foreground: its exit code. */
static int supervise_foreground(void *arg)
{
    const struct foreground *f = arg;
    struct vmrun_error err = {0};
    struct vm_left left = {.host_restored = true};
    enum vm_outcome out = supervise_vm(f->p, f->o, &left, &err);
    int r = VMRUN_EXIT_OK;
    if (out == VM_NOT_STARTED || out == VM_QEMU_FAILED) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        r = VMRUN_EXIT_FAILURE;
    }
    /* The host not put back completely is a failure, however the guest
     * ended: the caller is told what is left and how to finish it. */
    if (!left.host_restored) {
        cli_say_left(f->p->name, left.what);
        r = VMRUN_EXIT_FAILURE;
    }
    return r;
}

int cli_start(int argc, char **argv)
{
    static const struct option opts[] = {
        {"detach", no_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        {"trust-profile", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool detach = false, force = false, trust = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+dfh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            detach = true;
            break;
        case 'f':
            force = true;
            break;
        case 't':
            trust = true;
            break;
        case 'h':
            help(stdout);
            return VMRUN_EXIT_OK;
        default:
            help(stderr);
            return VMRUN_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        help(stderr);
        return VMRUN_EXIT_USAGE;
    }

    struct vm_profile p;
    char path[PATH_MAX];
    int r = cli_load_profile(argv[optind], trust, &p, path, sizeof(path));
    if (r != 0)
        return r;
    struct vmrun_error aerr = {0};
    if (priv_check_access(&p, &aerr) < 0) {
        fprintf(stderr, "vmrun: %s\n", aerr.msg);
        profile_free(&p);
        return VMRUN_EXIT_USAGE;
    }
    if (geteuid() != 0 && needs_root(&p)) {
        fprintf(stderr,
                "vmrun: '%s' changes the host (devices, hugepages, CPU governor or priorities): "
                "run it as root, e.g. 'sudo vmrun start %s'\n",
                p.name, argv[optind]);
        profile_free(&p);
        return VMRUN_EXIT_USAGE;
    }

    struct priv_target target = {0};
    struct vmrun_error terr = {0};
    if (priv_resolve_target(&p, &target, &terr) < 0) {
        fprintf(stderr, "vmrun: %s\n", terr.msg);
        profile_free(&p);
        return VMRUN_EXIT_USAGE;
    }

    /* Firmware and TPM, read-only, before anything on the host changes. */
    struct firmware_choice fw;
    struct vmrun_error perr = {0};
    r = vm_preflight(&p, target.change ? target.uid : geteuid(), &fw, &perr);
    if (r < 0) {
        fprintf(stderr, "vmrun: %s: %s\n", path, perr.msg);
        priv_target_free(&target);
        profile_free(&p);
        return r == -EINVAL ? VMRUN_EXIT_USAGE : VMRUN_EXIT_FAILURE;
    }

    struct supervisor_opts o = {
        .profile_path = path,
        .target = &target,
        .firmware = &fw,
        .force = force,
        .ready_fd = -1,
        .say = cli_say,
    };
    if (detach) {
        r = detach_and_supervise(&p, &o);
        priv_target_free(&target);
        profile_free(&p);
        return r;
    }
    /* Through sudo or pkexec the supervisor is out of reach of what the
     * caller can make sudo or the terminal send (supervisor/session.h). */
    struct foreground fg = {.p = &p, .o = &o};
    if (trust_mode() == TRUST_DELEGATED)
        r = supervise_in_own_session(supervise_foreground, &fg);
    else
        r = supervise_foreground(&fg);
    priv_target_free(&target);
    profile_free(&p);
    return r;
}
