/* The QEMU command line: a pure function from (profile, host facts) to argv.
 * Nothing here touches the host; everything that depends on the host or on
 * the run (socket paths, the hugepage file, the per-VM OVMF vars copy) comes
 * in through struct vm_host_facts, so tests can fix it. The argv is exec'd
 * directly, never through a shell. */
#ifndef VMRUN_CMDLINE_H
#define VMRUN_CMDLINE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/error.h"
#include "profile/profile.h"
#include "qemu/firmware.h"

/* The files QEMU is handed as inherited fds (qemu_fds.h), besides QMP, in
 * the order of their numbers. Which file goes which way, and why, is
 * decided by what QEMU 7.2 does with each option:
 *   - block devices (disks, firmware code, the UEFI variable store) and
 *     chardev files (the serial log) are opened by QEMU through qemu_open(),
 *     which understands /dev/fdset/N: `-add-fd fd=F,set=F` and the path
 *     /dev/fdset/F; QEMU dups the fd and never looks at a path. QEMU opens
 *     a read-write image read-only first (auto-read-only) and asks for
 *     write access when a writer attaches, and takes from the set the fd
 *     whose access mode matches: a read-write file's set holds two fds,
 *     read-write (F) and read-only (F + 1), as libvirt's do;
 *   - -kernel, -initrd and a device's romfile are read with plain
 *     open()/fopen(): they get /proc/self/fd/F, which reopens exactly the
 *     file vmrun resolved and checked (QEMU's user needs read permission
 *     on it, which vmrun checks first);
 *   - input-linux opens its evdev with plain open(): it gets
 *     /proc/self/fd/F of an O_PATH descriptor of the virtual device vmrun
 *     made for the input[] entry (host/input/input.h), which reopens that
 *     node and no other;
 *   - memory-backend-file mem-path (the hugepage file, Looking Glass) and
 *     VFIO's /dev/vfio/N are opened with open() on a path QEMU computes or
 *     keeps: they stay paths, on which vmrun gives QEMU's user access
 *     (priv/priv_handover.h). */
enum qemu_file_role {
    QEMU_FILE_FIRMWARE_CODE,
    QEMU_FILE_UEFI_VARS,
    QEMU_FILE_KERNEL,
    QEMU_FILE_INITRD,
    QEMU_FILE_DISK,
    QEMU_FILE_ROM,
    QEMU_FILE_SERIAL_LOG,
};

#define VM_HOST_FILES_MAX 48

/* Does a disk's cache mode ("none", "directsync", ...; NULL: QEMU's
 * default, writeback) bypass the host's page cache (cache.direct=on)?
 * QEMU then opens the image O_DIRECT, and QEMU 9.1 and later take from an
 * fdset only an fd whose O_DIRECT matches: both fds of such a disk's set
 * are O_DIRECT (7.2 sets the flag on the fd it dups either way). */
bool disk_cache_direct(const char *cache);

struct qemu_file {
    enum qemu_file_role role;
    size_t index;     /* disks[index], pci[index] */
    const char *path; /* what is opened */
    int access;       /* O_RDONLY, O_RDWR or O_WRONLY */
    bool from_profile; /* a path the profile names (else vmrun's own file) */
    int fd;           /* its number in QEMU */
    int ro_fd;        /* a read-only twin in the same fdset, or -1 (below) */
    bool direct;      /* opened O_DIRECT: a disk whose cache mode bypasses the page cache */
    char what[160];   /* "disks[0]: /var/lib/vms/win.img" */
};

struct vm_host_facts {
    const char *runtime_dir;       /* e.g. /run/vmrun/NAME */
    int qmp_fd;                    /* QEMU's end of the QMP connection (qemu_fds.h) */
    struct qemu_file files[VM_HOST_FILES_MAX]; /* the files QEMU inherits, after QMP */
    size_t n_files;
    int files_err; /* vm_host_facts_files()'s result: -E2BIG for too many files */
    const char *memory_file;       /* hugetlbfs file prepared by vmrun; NULL: plain RAM */
    const char *ovmf_vars;         /* the per-VM vars copy; NULL when no firmware */
    /* UEFI (qemu/firmware.h): the code flash; NULL for QEMU's own BIOS. */
    const char *firmware_code;
    const char *firmware_code_format; /* "raw" | "qcow2" */
    const char *firmware_vars_format;
    bool smm;                      /* the firmware requires SMM: -machine smm=on */
    bool secure_flash;             /* only SMM may write the variables */
    int tpm_fd;                    /* QEMU's end of swtpm's control channel; -1: no TPM */
    /* The tap of network[i] ("bridge" and "tap", host/net/tap.h), which
     * vmrun opens: QEMU's fd for it, after the TPM's; 0: none (a "user"
     * network, or facts laid out without vm_host_facts_files()). */
    int net_fd[VM_NETS_MAX];
    /* The O_PATH descriptor of input[i]'s virtual device (host/input/),
     * after the taps; 0: none. */
    int input_fd[VM_INPUTS_MAX];
    /* QEMU has VNC: a VNC server with nothing to listen on (-vnc none)
     * gives vmrun the guest's keyboard LEDs (host/input/vnc_led.h). */
    bool input_leds;
    const char *serial_log;        /* file for serial "log" */
    /* The VM's user directory (priv/user_dir.h), when the profile needs
     * one; and in it the file for looking_glass.device "shm" and the
     * socket of display "vnc" or "spice". */
    const char *user_dir;
    const char *looking_glass_shm;
    const char *console_socket;
    bool sandbox;                  /* QEMU supports -sandbox: turn it on */
    bool audio_pipewire;           /* QEMU has its own "pipewire" audio driver */
};

/* Room for the paths of a vm_host_facts filled by vm_host_facts_default. */
struct vm_host_facts_storage {
    char runtime_dir[PATH_MAX];
    char memory_file[PATH_MAX];
    char ovmf_vars[PATH_MAX];
    char firmware_code[PATH_MAX];
    char firmware_code_format[8];
    char firmware_vars_format[8];
    char serial_log[PATH_MAX];
    char user_dir[PATH_MAX];
    char looking_glass_shm[PATH_MAX];
    char console_socket[PATH_MAX];
};

/* The inherited fd of a file, or -1 when it is not handed as an fd. */
int vm_host_facts_fd(const struct vm_host_facts *h, enum qemu_file_role role, size_t index);

/* Fill h->files from the profile and h's paths: one entry per file QEMU is
 * handed, numbered from h->qmp_fd + 1 in a fixed order (firmware code,
 * UEFI variables, kernel, initrd, disks, ROMs, serial log), so that
 * print-cmd and the supervisor agree; then h->tpm_fd, swtpm's control
 * channel, right after them when the profile has a TPM, then the taps of
 * the "bridge" and "tap" networks (h->net_fd), then the virtual input
 * devices (h->input_fd). -E2BIG when they do not fit. Pure. */
int vm_host_facts_files(const struct vm_profile *p, struct vm_host_facts *h);

/* The host facts of a VM, laid out as the supervisor lays them out:
 *   runtime_dir  NULL: "/run/vmrun/NAME"
 *   state_dir    NULL: "/var/lib/vmrun/NAME" (serial.log, OVMF_VARS.fd: what
 *                outlives a run)
 * memory_file /dev/hugepages/vmrun-NAME (only with hugepages; the supervisor
 * puts the prepared file there), user_dir /run/vmrun/.user/NAME (next to the
 * runtime directory) with looking_glass_shm in it (looking-glass, only with
 * device "shm") and console_socket (vnc.sock or spice.sock), qmp_fd QEMU_FD_QMP (the QMP connection is the
 * first fd QEMU inherits, qemu_fds.h), files as vm_host_facts_files() lays
 * them out, tpm_fd after them with a TPM, sandbox false. The firmware:
 * firmware.code as given (raw, SMM and the secure flash as
 * firmware.secure_boot says); a UEFI profile without firmware.code gets
 * none: vm_host_facts_set_firmware() puts the descriptor's choice in. Pure:
 * reads neither the host nor the environment, so `vmrun print-cmd` is
 * stable. h's strings point into st. */
void vm_host_facts_default(struct vm_host_facts *h, struct vm_host_facts_storage *st,
                           const struct vm_profile *p, const char *runtime_dir,
                           const char *state_dir);

/* Put the firmware chosen by firmware_choose() into h (code, formats,
 * SMM, secure flash; the VM's copy of the variables when there is a
 * template). */
void vm_host_facts_set_firmware(struct vm_host_facts *h, struct vm_host_facts_storage *st,
                                const struct vm_profile *p, const struct firmware_choice *c);

struct argv_list {
    char **v; /* NULL-terminated */
    size_t n, cap;
};

int argv_push(struct argv_list *a, const char *s);
int argv_pushf(struct argv_list *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void argv_list_free(struct argv_list *a);

/* Build the full argv (argv[0] is the QEMU binary). Returns 0 or a negative
 * errno with err set (e.g. a value that cannot be expressed safely). */
int qemu_build_argv(const struct vm_profile *p, const struct vm_host_facts *h,
                    struct argv_list *out, struct vmrun_error *err);

/* Print argv shell-quoted, one option (with its value) per line, joined by
 * " \\\n    ", ready to paste into a shell. */
void qemu_print_argv(FILE *out, const struct argv_list *a);

/* The -audiodev driver a profile's audio backend becomes. "pipewire" is
 * QEMU's own PipeWire driver when this QEMU has it (qemu_pipewire: QEMU 8.1
 * and later, vm_host_facts.audio_pipewire), else the PulseAudio driver,
 * which PipeWire desktops serve (pipewire-pulse). */
const char *qemu_audiodev_driver(enum vm_audio_backend be, bool qemu_pipewire);

/* Append s to buf with QEMU's option escaping (',' doubled). */
int qemu_escape_value(char *buf, size_t len, const char *s);

#endif
