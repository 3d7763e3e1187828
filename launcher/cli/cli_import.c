/* vmrun import DOMAIN.xml|-: a libvirt domain (`virsh dumpxml NAME`) as a
 * profile on standard output, and on standard error one line per thing
 * that did not carry over:
 *
 *     win10.xml:143: <memballoon model='virtio'>: not supported: vmrun adds no ...
 *
 * Exit codes: 0 everything carried over (warnings aside), 3 a usable
 * profile was written but something did not carry over, 2 bad usage or
 * input that is not a domain XML (nothing written), 1 a failure (writing
 * the output, or a defect: a profile vmrun itself would refuse). Needs no
 * privileges and touches nothing; it reads the host's USB devices only to
 * carry over a USB device libvirt names by its bus and device number, and
 * through sudo or pkexec it reads only what the caller could read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/diag.h"
#include "base/error.h"
#include "cli/cli.h"
#include "host/usb/usb_dev.h"
#include "import/import.h"
#include "priv/user_open.h"

#define EXIT_LOSSES 3

/* libvirt's USB address form names a device by bus and device number:
 * where that device is plugged in on this host, now (host/usb reads
 * sysfs; nothing changes). */
static int usb_lookup(void *ctx, unsigned bus, unsigned device, char *port, size_t port_len,
                      char *what, size_t what_len)
{
    (void)ctx;
    struct usb_dev *devs = NULL;
    size_t n = 0;
    struct vmrun_error err = {0};
    if (usb_dev_list(&devs, &n, &err) < 0)
        return 0;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        if (devs[i].busnum != bus || devs[i].devnum != device)
            continue;
        snprintf(port, port_len, "%s", devs[i].port);
        usb_dev_describe(&devs[i], what, what_len);
        found = 1;
    }
    free(devs);
    return found;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vmrun import DOMAIN.xml\n"
            "       virsh dumpxml NAME | vmrun import - > NAME.json\n\n"
            "Write the vmrun profile of a libvirt domain XML on standard output. Each element\n"
            "or attribute that does not carry over gets one line on standard error, with its\n"
            "line number and why: not supported, host-specific, or needs a manual step\n"
            "(warnings: carried over, but check it). The host is not touched.\n\n"
            "exit codes: 0 all carried over, 3 written with losses, 2 bad input (nothing\n"
            "written), 1 failure\n\n"
            "options:\n"
            "  -h, --help  show this help\n");
}

/* Up to IMPORT_MAX_BYTES + 1 bytes: one more than allowed says "too big"
 * without reading the rest (a pipe is left unread past it). */
static int read_input(int fd, char **data, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > IMPORT_MAX_BYTES)
                break;
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
        }
        size_t want = cap - n;
        if (n + want > (size_t)IMPORT_MAX_BYTES + 1)
            want = (size_t)IMPORT_MAX_BYTES + 1 - n;
        if (want == 0)
            break;
        ssize_t r = read(fd, buf + n, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *data = buf;
    *len = n;
    return 0;
}

int cli_import(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VMRUN_EXIT_OK;
    }
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc && arg == NULL) {
            arg = argv[++i];
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0' && arg == NULL) {
            fprintf(stderr, "vmrun import: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return VMRUN_EXIT_USAGE;
        }
        if (arg != NULL) {
            fprintf(stderr, "vmrun import: one DOMAIN.xml only\n");
            return VMRUN_EXIT_USAGE;
        }
        arg = argv[i];
    }
    if (arg == NULL) {
        usage(stderr);
        return VMRUN_EXIT_USAGE;
    }
    bool stdin_ = strcmp(arg, "-") == 0;
    const char *file = stdin_ ? "<stdin>" : arg;
    /* Through sudo or pkexec the file is opened with the caller's rights:
     * root reads nobody a domain (its secrets, its serials) they could not
     * read themselves. Not blocking: a FIFO without a writer is empty. */
    struct vmrun_error oerr = {0};
    cleanup_close int fd =
        stdin_ ? dup(STDIN_FILENO) : priv_open_as_caller(arg, O_RDONLY | O_NONBLOCK, &oerr);
    if (fd < 0) {
        fprintf(stderr, "vmrun import: %s\n", stdin_ ? strerror(errno) : oerr.msg);
        return VMRUN_EXIT_USAGE;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fprintf(stderr, "vmrun import: %s: %s\n", file, strerror(errno));
        return VMRUN_EXIT_FAILURE;
    }
    /* A domain XML is a file or what a pipe brings; never a device. */
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "vmrun import: %s: not a file\n", file);
        return VMRUN_EXIT_USAGE;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (S_ISREG(st.st_mode) && st.st_size > IMPORT_MAX_BYTES) {
        fprintf(stderr,
                "%s: %lld bytes, more than %d; a libvirt domain XML is a few KiB (nothing "
                "read)\n",
                file, (long long)st.st_size, IMPORT_MAX_BYTES);
        return VMRUN_EXIT_USAGE;
    }
    cleanup_free char *data = NULL;
    size_t len = 0;
    int r = read_input(fd, &data, &len);
    if (r < 0) {
        fprintf(stderr, "vmrun import: reading %s: %s\n", file, strerror(-r));
        return r == -ENOMEM ? VMRUN_EXIT_FAILURE : VMRUN_EXIT_USAGE;
    }

    struct diag_list diags = {0};
    struct import_result res;
    const struct import_options opt = {.usb_lookup = usb_lookup};
    r = import_domain(file, data, len, &opt, &res, &diags);
    if (r == -EINVAL) {
        diag_print_all(&diags, stderr);
        diag_list_free(&diags);
        return VMRUN_EXIT_USAGE;
    }
    if (r == -EPROTO) {
        fprintf(stderr, "vmrun import: %s: the profile written from it does not pass vmrun's "
                        "own checks; this is a defect of vmrun import:\n",
                file);
        diag_print_all(&diags, stderr);
        diag_list_free(&diags);
        return VMRUN_EXIT_FAILURE;
    }
    diag_list_free(&diags);
    if (r < 0) {
        fprintf(stderr, "vmrun import: %s: %s\n", file, strerror(-r));
        return VMRUN_EXIT_FAILURE;
    }
    if (fputs(res.profile, stdout) == EOF || fflush(stdout) != 0 || ferror(stdout)) {
        perror("vmrun import: writing the profile");
        import_result_free(&res);
        return VMRUN_EXIT_FAILURE;
    }
    for (size_t i = 0; i < res.n_notes; i++) {
        const struct import_note *n = &res.notes[i];
        fprintf(stderr, "%s:%u: %s: %s: %s\n", file, n->line, n->what, import_kind_name(n->kind),
                n->why);
    }
    size_t losses = import_losses(&res);
    if (res.n_notes > 0)
        fprintf(stderr, "vmrun import: %s: profile \"%s\" written; %zu thing%s not carried over, "
                        "%zu warning%s\n",
                file, res.name, losses, losses == 1 ? "" : "s", res.n_notes - losses,
                res.n_notes - losses == 1 ? "" : "s");
    import_result_free(&res);
    return losses > 0 ? EXIT_LOSSES : VMRUN_EXIT_OK;
}
