/* The profile struct's own helpers: freeing it and the figures derived from
 * it. */
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void profile_free(struct vm_profile *p)
{
    if (p == NULL)
        return;
    free(p->description);
    free(p->qemu.binary);
    free(p->qemu.machine);
    free_strv(p->qemu.extra_args, p->qemu.n_extra_args);
    free(p->firmware.code);
    free(p->firmware.vars_template);
    free(p->boot.kernel);
    free(p->boot.initrd);
    free(p->boot.cmdline);
    free(p->cpu.model);
    free(p->cpu.vcpus.cpus);
    free(p->cpu.emulator.cpus);
    free(p->cpu.iothreads.cpus);
    free(p->cpu.vendor_id);
    for (size_t i = 0; i < p->cpu.n_features; i++)
        free(p->cpu.features[i].name);
    free(p->cpu.features);
    for (int t = 0; t < SMBIOS_N_TYPES; t++)
        for (int f = 0; f < SMBIOS_MAX_FIELDS; f++)
            free(p->smbios.value[t][f]);
    free(p->cpu.governor);
    for (size_t i = 0; i < p->n_pci; i++) {
        free(p->pci[i].rom);
        free(p->pci[i].reset_method);
    }
    free(p->pci);
    for (size_t i = 0; i < p->n_disks; i++) {
        free(p->disks[i].path);
        free(p->disks[i].cache);
        free(p->disks[i].aio);
        free(p->disks[i].discard);
        free(p->disks[i].serial);
    }
    free(p->disks);
    for (size_t i = 0; i < p->n_nets; i++) {
        free(p->nets[i].bridge);
        free(p->nets[i].tap);
        free(p->nets[i].mac);
        free(p->nets[i].model);
    }
    free(p->nets);
    for (size_t i = 0; p->usb != NULL && i < p->n_usb; i++) {
        free(p->usb[i].serial);
        free(p->usb[i].port);
    }
    free(p->usb);
    for (size_t i = 0; i < p->n_inputs; i++) {
        free(p->inputs[i].evdev);
        free(p->inputs[i].device);
        free(p->inputs[i].serial);
        free(p->inputs[i].grab_toggle);
    }
    free(p->inputs);
    free(p->audio.device);
    free(p->looking_glass.device);
    free(p->run_as);
    for (size_t i = 0; i < p->access.n_users; i++)
        free(p->access.users[i]);
    free(p->access.users);
    for (size_t i = 0; i < p->access.n_groups; i++)
        free(p->access.groups[i]);
    free(p->access.groups);
    free(p->handoff.display_manager_unit);
    free_strv(p->handoff.session_units, p->handoff.n_session_units);
    memset(p, 0, sizeof(*p));
}

unsigned profile_vcpu_count(const struct vm_profile *p)
{
    return p->cpu.sockets * p->cpu.cores * p->cpu.threads;
}

uint64_t profile_looking_glass_size(unsigned width, unsigned height)
{
    /* Two frames of 32-bit pixels plus 10 MiB for the rest of the
     * protocol, rounded up to a power of two as ivshmem wants. */
    uint64_t need = (uint64_t)width * height * 4 * 2 + (UINT64_C(10) << 20);
    uint64_t size = UINT64_C(1) << 20;
    while (size < need)
        size <<= 1;
    return size;
}
