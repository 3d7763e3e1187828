/* The profile model: what a JSON profile says, as a plain C struct.
 *
 * profile_parse() is a pure function of the bytes it is given (no file
 * system, no host access), so it can be fuzzed and tested exhaustively. Every
 * problem found is appended to a diagnostics list with file, line, column and
 * JSON path; a profile with any error diagnostic is rejected as a whole.
 * profiles/README.md documents every key. */
#ifndef VMRUN_PROFILE_H
#define VMRUN_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"

#define PROFILE_NAME_MAX 64
#define PROFILE_VENDOR_ID_MAX 12
#define PROFILE_DEFAULT_TIMEOUT_S 120
#define PROFILE_MAX_BYTES (1024 * 1024) /* larger files are refused unread */

enum vm_accel { VM_ACCEL_KVM, VM_ACCEL_TCG };
enum vm_disk_format { VM_DISK_RAW, VM_DISK_QCOW2 };
enum vm_disk_bus { VM_BUS_VIRTIO, VM_BUS_SCSI, VM_BUS_NVME, VM_BUS_SATA };
enum vm_disk_media { VM_MEDIA_DISK, VM_MEDIA_CDROM };
enum vm_net_type { VM_NET_USER, VM_NET_BRIDGE, VM_NET_TAP };
enum vm_audio_backend { VM_AUDIO_NONE, VM_AUDIO_PIPEWIRE, VM_AUDIO_PA, VM_AUDIO_ALSA };
enum vm_display {
    VM_DISPLAY_NONE,
    VM_DISPLAY_GTK,
    VM_DISPLAY_SDL,
    VM_DISPLAY_SPICE,
    VM_DISPLAY_VNC
};
enum vm_serial { VM_SERIAL_LOG, VM_SERIAL_STDIO, VM_SERIAL_NONE };
enum vm_governor_scope { VM_GOVERNOR_VM_CPUS, VM_GOVERNOR_ALL_CPUS };
enum vm_firmware_type { VM_FIRMWARE_BIOS, VM_FIRMWARE_UEFI };
enum vm_tpm_model { VM_TPM_CRB, VM_TPM_TIS };

/* A list of host CPU numbers, in profile order. */
struct cpu_list {
    int *cpus;
    size_t n;
};

/* A CPU feature the profile turns on or off (cpu.features). */
struct vm_cpu_feature {
    char *name; /* QEMU's name, e.g. "topoext" */
    bool on;
};

/* The Hyper-V enlightenments cpu.hyperv can name as an object, with the
 * ones each needs (QEMU refuses a flag whose needs are off). Bit i of the
 * masks below is profile_hv_flags[i]. */
struct profile_hv_flag {
    const char *key;   /* the profile's name: "stimer_direct" */
    const char *qemu;  /* the -cpu property: "hv-stimer-direct" */
    uint32_t requires; /* bits of the flags it needs */
};
extern const struct profile_hv_flag profile_hv_flags[];
extern const size_t profile_n_hv_flags;
/* Index of a flag by its profile key, or -1. */
int profile_hv_flag_index(const char *key);
#define PROFILE_HV_SPINLOCKS_DEFAULT 0x1fff

/* SMBIOS strings (smbios.*): four structure types, each a fixed list of
 * fields that QEMU's -smbios takes. */
enum { SMBIOS_BIOS, SMBIOS_SYSTEM, SMBIOS_BASEBOARD, SMBIOS_CHASSIS, SMBIOS_N_TYPES };
#define SMBIOS_MAX_FIELDS 6
struct profile_smbios_type {
    const char *key; /* "bios", "system", "baseboard", "chassis" */
    int qemu_type;   /* -smbios type=N */
    const char *fields[SMBIOS_MAX_FIELDS + 1];
};
extern const struct profile_smbios_type profile_smbios_types[SMBIOS_N_TYPES];

struct vm_pci {
    /* Normalised "DDDD:BB:SS.F" (domain added when the profile left it out). */
    char address[13];
    unsigned domain, bus, slot, func;
    char *rom;       /* NULL: the device's own ROM */
    int bootindex;   /* -1: none */
    bool take_group; /* also take every other endpoint of its IOMMU group */
    bool rombar_off; /* rombar false: the guest sees no ROM BAR */
    /* The kernel's reset methods to use while the VM has the device, in
     * order, space-separated as sysfs reset_method takes them ("bus",
     * "device_specific flr"); NULL: leave the kernel's choice (but see
     * host/pci/pci_health.h for vendor-reset). */
    char *reset_method;
};

/* Handing the host's only display GPU to the VM (host/display/). */
enum vm_display_manager {
    VM_DM_AUTO, /* what display-manager.service points to, when it runs */
    VM_DM_NONE, /* stop none */
    VM_DM_UNIT, /* the unit named in display_manager_unit */
};

#define PROFILE_HANDOFF_DEFAULT_TIMEOUT_S 30

struct vm_handoff {
    bool present; /* the "handoff" object is there: handoff mode */
    enum vm_display_manager display_manager;
    char *display_manager_unit; /* VM_DM_UNIT: "gdm.service" */
    char **session_units;       /* user units of the session user, stopped first */
    size_t n_session_units;
    bool kill_holders; /* end other holders of the GPU's nodes instead of refusing */
    unsigned timeout_s; /* the limit of each step */
};

struct vm_disk {
    char *path;
    enum vm_disk_format format;
    enum vm_disk_bus bus;
    enum vm_disk_media media;
    bool readonly;
    char *cache;   /* NULL: QEMU's default; else "none" | "writeback" | ... */
    char *aio;     /* NULL, "native", "threads", "io_uring" */
    char *discard; /* NULL, "unmap", "ignore" */
    bool iothread; /* serve this disk from the VM's iothread */
    int bootindex; /* -1: none */
    char *serial;  /* NULL: none (nvme: vmrun-diskN) */
};

struct vm_net {
    enum vm_net_type type;
    char *bridge; /* type bridge */
    char *tap;    /* type tap: an existing tap interface */
    char *mac;    /* NULL: QEMU picks one */
    char *model;  /* default "virtio-net-pci" */
};

/* A usb[] rule: which host USB devices the VM takes (host/usb/usb_rule.h).
 * Every criterion given must hold, and at least one is given. */
struct vm_usb {
    bool ids; /* vendor and product are criteria */
    unsigned vendor, product;
    char *serial;   /* NULL: any serial number; given only with the ids */
    char *port;     /* NULL: any port; "1-4.2", either half of that connector */
    int class_code; /* -1: any class; the class of the device or of one of its interfaces */
};

/* A USB port path, the kernel's name of a device: "1-4.2" is bus 1, port 4
 * of its root hub, then port 2 of the hub there. Bus and ports 1-255, at
 * most VM_USB_PORT_DEPTH ports (the root port and five hubs: USB's seven
 * tiers, which the kernel enforces). (profile_usb.c) */
#define VM_USB_PORT_MAX 32 /* "255-255.255.255.255.255.255" and its NUL */
#define VM_USB_PORT_DEPTH 6
bool profile_usb_port_valid(const char *s);

/* The name a profile gives a USB class (usb[].class: "audio", "hid"...), or
 * NULL for a class without one. */
const char *profile_usb_class_name(int code);

/* An input device given to the guest (host/input/): exactly one of evdev
 * and device names it. */
struct vm_input {
    char *evdev;  /* one event node, by path ("/dev/input/by-id/...-event-kbd") */
    char *device; /* device as a path: every event node of that physical device */
    bool by_ids;  /* device "VVVV:PPPP[:SERIAL]": the physical device with these ids */
    unsigned vendor, product;
    char *serial;      /* NULL: any serial number */
    char *grab_toggle; /* the hotkey, QEMU's grab-toggle names; NULL: both Ctrl keys */
    bool required;     /* no device at start is an error, not a warning */
};

/* The largest memory.size a profile may ask for. */
#define VM_MEMORY_MAX (UINT64_C(16) << 40)
/* The most entries of each array a profile may have. */
#define VM_NETS_MAX 32
#define VM_PCI_MAX 64
#define VM_DISKS_MAX 64
#define VM_USB_MAX 64
#define VM_INPUTS_MAX 32
#define VM_EXTRA_ARGS_MAX 1024
#define VM_CPU_FEATURES_MAX 128

struct vm_profile {
    char name[PROFILE_NAME_MAX + 1];
    char *description;
    char uuid[37]; /* "" : QEMU's default; else lower-case 8-4-4-4-12 */

    struct {
        char *binary;  /* default "qemu-system-x86_64" */
        char *machine; /* default "q35" */
        enum vm_accel accel;
        char **extra_args;
        size_t n_extra_args;
    } qemu;

    struct {
        /* bios: QEMU's own SeaBIOS. uefi: OVMF, chosen from QEMU's firmware
         * descriptors by the features below unless code names a build. */
        enum vm_firmware_type type;
        bool secure_boot;    /* a Secure Boot build (with SMM) */
        bool enrolled_keys;  /* its variables template has keys enrolled */
        char *code;          /* NULL: chosen from the descriptors (uefi) */
        char *vars_template; /* copied per VM before the first start */
    } firmware;

    struct {
        char *kernel, *initrd, *cmdline; /* all NULL: no direct kernel boot */
    } boot;

    struct {
        char *model; /* default "host" */
        unsigned sockets, cores, threads;
        struct cpu_list vcpus;     /* pin.vcpus: vCPU i on host CPU vcpus.cpus[i] */
        struct cpu_list emulator;  /* pin.emulator */
        struct cpu_list iothreads; /* pin.iothreads */
        bool realtime;
        bool hyperv;          /* any Hyper-V enlightenment */
        bool hyperv_custom;   /* the object form: exactly hv_on, hv_off */
        uint32_t hv_on, hv_off; /* bits of profile_hv_flags */
        unsigned hv_spinlocks; /* retries when spinlocks is on */
        struct vm_cpu_feature *features; /* cpu.features, in profile order */
        size_t n_features;
        bool dedicated;     /* kvm-hint-dedicated=on */
        bool idle_in_guest; /* -overcommit cpu-pm=on */
        bool hide_hypervisor;
        char *vendor_id; /* NULL or <= 12 chars */
        char *governor;  /* NULL: leave cpufreq alone */
        enum vm_governor_scope governor_scope;
        bool isolate; /* keep host tasks, IRQs and writeback off the vCPU CPUs */
    } cpu;

    struct {
        uint64_t size;        /* bytes, at most VM_MEMORY_MAX */
        unsigned hugepage_kb; /* 0: no hugepages; 2048 or 1048576 (the first choice) */
        /* memory.hugepages as a preference list ["1G", "2M"]: the size to
         * fall back to when the first cannot be reserved; 0: none. */
        unsigned hugepage_fallback_kb;
        int numa_node;        /* -1: auto */
        bool drop_caches;     /* on a shortfall, also drop the page cache */
    } memory;

    struct vm_pci *pci;
    size_t n_pci;
    struct vm_disk *disks;
    size_t n_disks;
    struct vm_net *nets;
    size_t n_nets;
    struct vm_usb *usb;
    size_t n_usb;
    bool usb_present; /* a "usb" key, even an empty list: the VM has a USB controller */
    struct vm_input *inputs;
    size_t n_inputs;

    struct {
        bool present;
        enum vm_audio_backend backend;
        char *device; /* default "hda" */
    } audio;

    enum vm_display display; /* default none */
    enum vm_serial serial;   /* default log */

    struct {
        bool present;
        unsigned width, height;
        char *device;  /* "/dev/kvmfr0" (a character device) or "shm" */
        uint64_t size; /* bytes, from the resolution */
    } looking_glass;

    struct {
        unsigned timeout_s; /* default 120 */
    } shutdown;

    struct {
        bool present; /* an emulated TPM 2.0 (swtpm) */
        enum vm_tpm_model model;
    } tpm;

    char *run_as; /* NULL: the invoking user (SUDO_UID / PKEXEC_UID), else root */

    struct {
        /* value[type][field]: NULL when not given; field indexes follow
         * profile_smbios_types[type].fields. */
        char *value[SMBIOS_N_TYPES][SMBIOS_MAX_FIELDS];
        bool present;
    } smbios;

    /* Who may start the VM through sudo or pkexec (priv/access.h). Absent:
     * whoever may run vmrun as root at all (the sudoers or polkit rule). */
    struct {
        bool present;
        char **users; /* user names */
        size_t n_users;
        char **groups; /* group names: their members */
        size_t n_groups;
    } access;

    struct vm_handoff handoff;
};

/* Parse and validate a profile.
 *   file:         the name used in messages ("gaming.json"); also gives the
 *                 default name (file name without directories and ".json").
 *   data, len:    the bytes; need not be NUL-terminated.
 * Returns 0 and fills *out (caller frees with profile_free) when there is no
 * error diagnostic (diags may hold warnings); otherwise -EINVAL, *out zeroed,
 * and diags holds every problem found, in document order. Paths are kept as
 * written: profile_load() (profile_load.h) makes relative ones absolute. */
int profile_parse(const char *file, const char *data, size_t len, struct vm_profile *out,
                  struct diag_list *diags);

void profile_free(struct vm_profile *p);

/* Whether this build's profile schema has a key, given as its dotted path
 * ("firmware.secure_boot", "tpm.model", "pci[].rombar"): what `vmrun
 * import` asks before it writes a key, so that its output always passes
 * this parser. */
bool profile_key_known(const char *path);

/* A systemd unit name vmrun may hand to systemctl: 1-255 of
 * [A-Za-z0-9:_.@-], not starting with '-' or '.', ending in one of the
 * suffixes (NULL-terminated), e.g. ".service". (profile_handoff.c) */
bool profile_valid_unit_name(const char *s, const char *const *suffixes);

/* Number of vCPUs: sockets x cores x threads. */
unsigned profile_vcpu_count(const struct vm_profile *p);

/* Looking Glass shared-memory size for a resolution:
 * w*h*4*2 + 10 MiB, rounded up to a power of two. */
uint64_t profile_looking_glass_size(unsigned width, unsigned height);

#endif
