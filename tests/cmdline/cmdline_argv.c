/* Test helper: print the argv qemu_build_argv gives, one element per line,
 * with the host facts of vm_host_facts_default() (what `vmrun print-cmd`
 * shows).
 *   cmdline_argv PROFILE   a profile file, through profile_load()
 *   cmdline_argv --print SRC  the same, as `vmrun print-cmd` prints it
 *   cmdline_argv --sample  a built-in profile that uses every kind of
 *                          device the builder knows, so that the golden and
 *                          real-QEMU tests cover all of them whatever the
 *                          example profiles contain
 * The firmware of a UEFI profile is chosen from the descriptors in
 * tests/cmdline/firmware (Debian 12's three, rewritten), not the host's, so
 * the golden argv is the same on every machine with Debian's OVMF files.
 * Exit 0; 2 on a bad profile; 1 when an element cannot be shown on one line
 * or the builder refuses the profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/cmdline.h"
#include "qemu/firmware.h"
#include "base/diag.h"
#include "base/error.h"
#include "profile/profile.h"
#ifdef CMDLINE_ARGV_WITH_LOADER
#include "profile/profile_load.h"
#endif

/* The profile struct is mutable; these literals are never written. */
#define S(x) ((char *)(x))

static void sample_profile(struct vm_profile *p)
{
    static struct vm_pci pci[] = {
        /* The reference GPU's four functions, and an NVMe drive. */
        {.address = "0000:01:00.0", .bus = 1, .slot = 0, .func = 0, .bootindex = -1},
        {.address = "0000:01:00.1", .bus = 1, .slot = 0, .func = 1, .bootindex = -1},
        {.address = "0000:01:00.2", .bus = 1, .slot = 0, .func = 2, .bootindex = -1},
        {.address = "0000:01:00.3", .bus = 1, .slot = 0, .func = 3, .bootindex = -1},
        {.address = "0000:04:00.0", .bus = 4, .slot = 0, .func = 0, .bootindex = 1},
    };
    static struct vm_disk disks[] = {
        {.path = S("/var/lib/vmrun/sample/system,1.qcow2"),
         .format = VM_DISK_QCOW2,
         .bus = VM_BUS_VIRTIO,
         .cache = S("none"),
         .aio = S("native"),
         .discard = S("unmap"),
         .iothread = true,
         .bootindex = 2},
        {.path = S("/var/lib/vmrun/sample/data.img"),
         .bus = VM_BUS_SCSI,
         .cache = S("none"),
         .aio = S("threads"),
         .discard = S("unmap"),
         .iothread = true,
         .bootindex = -1},
        {.path = S("/var/lib/vmrun/sample/scratch.img"), .bus = VM_BUS_SCSI, .bootindex = -1},
        {.path = S("/var/lib/vmrun/sample/fast.img"), .bus = VM_BUS_NVME, .bootindex = -1},
        {.path = S("/var/lib/vmrun/sample/old.img"), .bus = VM_BUS_SATA, .bootindex = -1},
        {.path = S("/var/lib/vmrun/sample/Win11 23H2 (it's $HOME).iso"),
         .bus = VM_BUS_SATA,
         .media = VM_MEDIA_CDROM,
         .readonly = true,
         .bootindex = -1},
        {.path = S("/var/lib/vmrun/sample/virtio-win.iso"),
         .bus = VM_BUS_SCSI,
         .media = VM_MEDIA_CDROM,
         .bootindex = -1},
    };
    static struct vm_net nets[] = {
        {.type = VM_NET_USER, .mac = S("52:54:00:00:00:01")},
        {.type = VM_NET_BRIDGE, .bridge = S("br0")},
        {.type = VM_NET_TAP, .tap = S("vmtap0"), .model = S("e1000e")},
    };
    static struct vm_usb usb[] = {{0x046d, 0xc52b}};
    static struct vm_input inputs[] = {
        {.evdev = S("/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd")},
        {.evdev = S("/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse"),
         .grab_toggle = S("ctrl-scrolllock")},
    };
    static char *extra[] = {S("-device"), S("pci-testdev")};

    memset(p, 0, sizeof(*p));
    strcpy(p->name, "sample");
    p->qemu.accel = VM_ACCEL_KVM;
    p->qemu.extra_args = extra;
    p->qemu.n_extra_args = 2;
    p->firmware.code = S("/usr/share/OVMF/OVMF_CODE_4M.fd");
    p->firmware.vars_template = S("/usr/share/OVMF/OVMF_VARS_4M.fd");
    p->cpu.sockets = 1;
    p->cpu.cores = 2;
    p->cpu.threads = 2;
    p->cpu.hyperv = true;
    p->cpu.hide_hypervisor = true;
    p->cpu.vendor_id = S("vmrunsample");
    p->memory.size = (uint64_t)2 << 30;
    p->memory.hugepage_kb = 2048;
    p->memory.numa_node = -1;
    p->pci = pci;
    p->n_pci = sizeof(pci) / sizeof(pci[0]);
    p->disks = disks;
    p->n_disks = sizeof(disks) / sizeof(disks[0]);
    p->nets = nets;
    p->n_nets = sizeof(nets) / sizeof(nets[0]);
    p->usb = usb;
    p->n_usb = 1;
    p->inputs = inputs;
    p->n_inputs = 2;
    p->audio.present = true;
    p->audio.backend = VM_AUDIO_PIPEWIRE;
    p->display = VM_DISPLAY_SPICE;
    p->serial = VM_SERIAL_LOG;
    p->looking_glass.present = true;
    p->looking_glass.width = 2560;
    p->looking_glass.height = 1440;
    p->looking_glass.device = S("shm");
}

int main(int argc, char **argv)
{
    bool print = argc == 3 && strcmp(argv[1], "--print") == 0;
    if (print) {
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: cmdline_argv [--print] PROFILE | --sample\n");
        return 2;
    }
    struct vm_profile p;
    bool loaded = false;
    if (strcmp(argv[1], "--sample") == 0) {
        sample_profile(&p);
    } else {
#ifdef CMDLINE_ARGV_WITH_LOADER
        struct diag_list diags = {0};
        struct vmrun_error err = {0};
        if (profile_load(argv[1], &p, &diags, &err) < 0) {
            if (diags.n > 0)
                diag_print_all(&diags, stderr);
            else
                fprintf(stderr, "cmdline_argv: %s\n", err.msg);
            diag_list_free(&diags);
            return 2;
        }
        diag_list_free(&diags);
        loaded = true;
#else
        fprintf(stderr, "cmdline_argv: built without the profile loader\n");
        return 2;
#endif
    }

    struct vm_host_facts h;
    struct vm_host_facts_storage st;
    vm_host_facts_default(&h, &st, &p, NULL, NULL);
    struct argv_list a = {0};
    struct vmrun_error err = {0};
    int rc = 0;
    struct firmware_dirs dirs = {0};
    snprintf(dirs.dirs[0], sizeof(dirs.dirs[0]), "%s", CMDLINE_FIRMWARE_DIR);
    struct firmware_choice fw;
    if (firmware_choose(&p, &dirs, &fw, &err) < 0) {
        fprintf(stderr, "cmdline_argv: %s\n", err.msg);
        rc = 1;
    } else {
        vm_host_facts_set_firmware(&h, &st, &p, &fw);
    }
    if (rc == 0 && qemu_build_argv(&p, &h, &a, &err) < 0) {
        fprintf(stderr, "cmdline_argv: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0 && print)
        qemu_print_argv(stdout, &a);
    for (size_t i = 0; rc == 0 && !print && i < a.n; i++) {
        if (strchr(a.v[i], '\n') != NULL) {
            fprintf(stderr, "cmdline_argv: argv[%zu] has a newline\n", i);
            rc = 1;
            break;
        }
        printf("%s\n", a.v[i]);
    }
    argv_list_free(&a);
#ifdef CMDLINE_ARGV_WITH_LOADER
    if (loaded)
        profile_free(&p);
#else
    (void)loaded;
#endif
    return rc;
}
