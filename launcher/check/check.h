/* `vmrun check`: is this host ready to start a profile? A preflight in the
 * manner of virt-host-validate: a list of checks, each PASS, WARN or FAIL
 * with a sentence saying what was found and, when it is not a PASS, a hint
 * saying how to fix it.
 *
 * Read-only: nothing on the host changes. Host facts are read through
 * hostpath.h (so a simulated /sys, /proc and /dev work), the PCI facts
 * through pci_host.h / pci_users.h, the memory facts through hugepages.h
 * and memory_prep.h. The only processes started are the QEMU binary itself,
 * asked for its version and its audio/display backends (qemu_probe.h).
 *
 * The checks, by name, in the order they are reported:
 *   running                 the VM is not already running (runtime.h)
 *   kvm                     /dev/kvm opens read-write, KVM_GET_API_VERSION
 *                           is 12 (not needed with accel "tcg")
 *   qemu                    the binary is found and new enough (table in
 *                           check_qemu.c)
 *   qemu.audio, qemu.display  the backends the argv uses are in this build
 *   firmware.code, firmware.vars_template, boot.kernel, boot.initrd,
 *   disks[i], looking_glass.device
 *                           the files the profile names exist and are
 *                           readable (a character device for kvmfr)
 *   firmware                BIOS, or the UEFI build: the descriptor chosen
 *                           and why (qemu/firmware.h), or why none fits
 *   firmware.secure_boot    the Secure Boot state of the variables
 *                           template: enrolled keys (which; Microsoft's CAs)
 *                           or setup mode (WARN when keys are asked for)
 *   firmware.vars           the VM's own variable store, when it exists:
 *                           its state, and that it fits the template
 *   firmware.smm            SMM when the firmware requires it: TCG always,
 *                           KVM with KVM_CAP_X86_SMM
 *   tpm                     swtpm is installed, its version, TPM 2.0
 *   tpm.state               the VM's TPM state: absent (made at the first
 *                           start) or right for QEMU's user
 *   cpus                    every pinned CPU exists and is online
 *   memory                  the guest RAM fits (no hugepages)
 *   hugepages               the pages can be had on the target NUMA node
 *   memlock                 RLIMIT_MEMLOCK covers guest RAM + 1 GiB (VFIO)
 *   iommu, vfio-pci         needed only with PCI devices
 *   pci ADDRESS             one per device: exists, group viable, driver,
 *                           what on the host uses it
 *   pci ADDRESS reset       its reset methods (and pci[].reset_method)
 *   pci ADDRESS d3cold      whether it may enter D3cold (off during the VM)
 *   pci[i].rom              the ROM file: signature, PCIR, ids, checksum,
 *                           an EFI image for a UEFI guest
 *   handoff gpu, boot_vga, framebuffers, consoles, display_manager, holders
 *                           with a "handoff" object: what the display
 *                           handoff will take over (check_handoff.c)
 *   qemu.usb                with a "usb" key: QEMU's usb-host takes a device
 *                           node vmrun opens (FAIL with rules, WARN without)
 *   usb[i]                  the devices plugged in now that the rule takes;
 *                           WARN for those the host uses (not given)
 *   pci                     only when the PCI bus cannot be scanned, or
 *                           when pci_prepare's plan refuses what the
 *                           per-device checks let through
 *   input[i]                the device the entry names, as plugged in now:
 *                           none (WARN; FAIL when required), two (FAIL),
 *                           an /dev/input/eventN path (WARN: it changes)
 *   input: uinput, input: kernel, input: LEDs
 *                           /dev/uinput, a kernel that inhibits input
 *                           devices (5.11), VNC in QEMU for the LEDs
 * A WARN does not stop `vmrun start`; a FAIL does.
 *
 * Files: check.c (the report, name, KVM, files, CPUs), check_qemu.c,
 * check_firmware.c (firmware and TPM),
 * check_memory.c (memory, hugepages, memlock), check_pci.c, check_usb.c,
 * check_network.c, check_input.c. */
#ifndef VMRUN_CHECK_H
#define VMRUN_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "profile/profile.h"

enum check_result { CHECK_PASS, CHECK_WARN, CHECK_FAIL };

struct check_item {
    char name[64]; /* "kvm", "pci 0000:01:00.0", "disks[1]" */
    enum check_result result;
    char *detail; /* what was found; never NULL */
    char *hint;   /* how to fix it; NULL when there is nothing to do */
};

struct check_report {
    struct check_item *items;
    size_t n, cap;
    bool oom; /* an allocation failed while the report was built */
};

struct check_options {
    /* Treat what `vmrun start --force` overrides (a display going dark, a
     * process losing its GPU, a link going down) as WARN instead of FAIL. */
    bool force;
    /* Where kernel modules live; NULL: /lib/modules. Read to see whether
     * vfio-pci could be loaded. */
    const char *modules_dir;
};

/* Run every check for p. Returns 0 with out filled (caller frees with
 * check_report_free), or -ENOMEM. Host problems are results, not errors. */
int check_profile(const struct vm_profile *p, const struct check_options *opt,
                  struct check_report *out, struct vmrun_error *err);

void check_report_free(struct check_report *r);

/* True when no check FAILed. */
bool check_report_ready(const struct check_report *r);

/* "PASS", "WARN", "FAIL". */
const char *check_result_name(enum check_result res);

/* The minimum QEMU version a profile needs and the reason for the highest
 * requirement ("the argv's -chardev ... on/off syntax"); why may be NULL. */
void check_qemu_min_version(const struct vm_profile *p, unsigned *major, unsigned *minor,
                            const char **why);

#endif
