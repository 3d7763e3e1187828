/* vmrun rom dump ADDRESS FILE | vmrun rom check FILE [ADDRESS] [--uefi] */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "cli/cli.h"
#include "host/pci/pci_host.h"
#include "host/pci/pci_rom.h"
#include "host/pci/pci_sysfs.h"
#include "priv/priv_drop.h"
#include "priv/user_open.h"
#include "sys/hostpath.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: vmrun rom dump ADDRESS FILE\n"
            "       vmrun rom check FILE [ADDRESS] [--uefi]\n\n"
            "dump   read the option ROM of PCI device ADDRESS through sysfs into FILE (a new\n"
            "       file; through sudo or pkexec it is created as the calling user). Refused,\n"
            "       with the reason, where the result would be unusable: the boot VGA\n"
            "       device (the kernel gives the shadow copy the firmware ran), a device a\n"
            "       running VM holds, or bytes that are no valid ROM for the device.\n"
            "check  say whether FILE is a ROM a VM can use: its images, the 0x55AA\n"
            "       signature and PCI data structure of each, their checksums, and with\n"
            "       ADDRESS that it is for that device; --uefi: that it has an EFI image\n"
            "       for a UEFI guest.\n"
            "Exit 0 on success, 1 when the ROM is refused or cannot be read, 2 on bad usage.\n");
}

/* The bytes into a new file: O_EXCL, and no symlink as the last component. */
static int write_new(const char *file, const unsigned char *data, size_t len)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(file);
            return -e;
        }
        done += (size_t)n;
    }
    if (close(fd) < 0)
        return -errno;
    return 0;
}

/* Through sudo or pkexec the file is the caller's: a child takes the
 * caller's identity (checked) and creates it with the caller's rights, so
 * root writes nothing where the caller could not. */
static int write_as_caller(const char *file, const unsigned char *data, size_t len)
{
    uid_t uid;
    gid_t gid;
    if (priv_invoking_user(&uid, &gid) < 0)
        return write_new(file, data, len);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || getuid() != uid ||
            geteuid() != uid || getegid() != gid || setuid(0) == 0)
            _exit(EPERM);
        int r = write_new(file, data, len);
        _exit(r < 0 ? -r : 0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(status))
        return -EIO;
    return -WEXITSTATUS(status);
}

static int rom_dump(const char *address, const char *file)
{
    cleanup_free unsigned char *data = NULL;
    size_t len = 0;
    struct pci_rom_info info;
    struct vmrun_error err = {0};
    if (pci_rom_dump(address, &data, &len, &info, &err) < 0) {
        fprintf(stderr, "vmrun: rom dump %s: %s\n", address, err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    int r = write_as_caller(file, data, len);
    if (r < 0) {
        fprintf(stderr, "vmrun: rom dump %s: cannot create %s: %s%s\n", address, file,
                strerror(-r), r == -EEXIST ? " (choose a new file name)" : "");
        return VMRUN_EXIT_FAILURE;
    }
    char desc[512];
    pci_rom_describe(&info, desc, sizeof(desc));
    printf("%s: %zu bytes, %s\n", file, len, desc);
    return VMRUN_EXIT_OK;
}

static int rom_check(const char *file, const char *address, bool uefi)
{
    unsigned vendor = 0, device = 0;
    struct vmrun_error err = {0};
    if (address != NULL) {
        char norm[PCI_ADDR_LEN], path[PATH_MAX], buf[32];
        if (pci_normalize_address(address, norm) < 0) {
            fprintf(stderr, "vmrun: '%s' is not a PCI address (DDDD:BB:SS.F or BB:SS.F)\n",
                    address);
            return VMRUN_EXIT_USAGE;
        }
        host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/vendor", norm);
        if (pci_sysfs_read(path, buf, sizeof(buf)) < 0) {
            fprintf(stderr, "vmrun: there is no PCI device %s\n", norm);
            return VMRUN_EXIT_FAILURE;
        }
        vendor = (unsigned)strtoul(buf, NULL, 16);
        host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/device", norm);
        if (pci_sysfs_read(path, buf, sizeof(buf)) == 0)
            device = (unsigned)strtoul(buf, NULL, 16);
    }
    /* Through sudo or pkexec, with the caller's rights: root shows nobody
     * a file they could not read. */
    cleanup_close int fd = priv_open_as_caller(file, O_RDONLY | O_NONBLOCK, &err);
    if (fd < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    cleanup_free unsigned char *data = NULL;
    size_t len;
    if (pci_rom_read_fd(fd, file, &data, &len, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    struct pci_rom_info info;
    if (pci_rom_parse(data, len, &info, &err) < 0 ||
        pci_rom_fit(&info, vendor, device, uefi, &err) < 0) {
        fprintf(stderr, "vmrun: %s: %s\n", file, err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    char desc[512];
    pci_rom_describe(&info, desc, sizeof(desc));
    printf("%s: a usable ROM%s%s, %s\n", file, address ? " for " : "", address ? address : "",
           desc);
    return VMRUN_EXIT_OK;
}

int cli_rom(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return VMRUN_EXIT_OK;
    }
    if (argc == 4 && strcmp(argv[1], "dump") == 0)
        return rom_dump(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "check") == 0) {
        const char *file = NULL, *address = NULL;
        bool uefi = false;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--uefi") == 0)
                uefi = true;
            else if (argv[i][0] == '-' && argv[i][1] != '\0')
                goto usage;
            else if (file == NULL)
                file = argv[i];
            else if (address == NULL)
                address = argv[i];
            else
                goto usage;
        }
        if (file != NULL)
            return rom_check(file, address, uefi);
    }
usage:
    help(stderr);
    return VMRUN_EXIT_USAGE;
}
