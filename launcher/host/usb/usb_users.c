/* What the host uses a USB device for (usb_users.h). */
#include "host/usb/usb_users.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/text.h"
#include "sys/dev_users.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

/* The lowest word of a sysfs capability bitmap ("... fffffffffffffffe":
 * words of unsigned long in hexadecimal, the lowest last). */
static bool lowest_word(const char *path, unsigned long long *out)
{
    char buf[1024];
    if (hostfile_read(path, buf, sizeof(buf)) < 0)
        return false;
    const char *last = strrchr(buf, ' ');
    last = last != NULL ? last + 1 : buf;
    char *end;
    errno = 0;
    *out = strtoull(last, &end, 16);
    return errno == 0 && end != last && *end == '\0';
}

/* A keyboard as udev's input_id tells one: key events, and the keys from
 * Esc through D (bits 1-31 of the key bitmap) all present. */
static bool is_keyboard(const char *input)
{
    char path[PATH_MAX];
    unsigned long long ev, keys;
    if (host_path(path, sizeof(path), HOST_SYS, "/class/input/%s/capabilities/ev", input) < 0 ||
        !lowest_word(path, &ev) || (ev & (1ULL << 1 /* EV_KEY */)) == 0)
        return false;
    if (host_path(path, sizeof(path), HOST_SYS, "/class/input/%s/capabilities/key", input) < 0 ||
        !lowest_word(path, &keys))
        return false;
    return (keys & 0xfffffffeULL) == 0xfffffffeULL;
}

/* Whether every keyboard of the host's hardware is below devdir (and there
 * is one): names go into found. */
static void only_keyboard(const char *devdir, char *found, size_t len)
{
    found[0] = '\0';
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/class/input") < 0)
        return;
    cleanup_closedir DIR *d = opendir(path);
    struct dirent *e;
    size_t below = 0, elsewhere = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "input", 5) != 0 || !is_keyboard(e->d_name))
            continue;
        char p[PATH_MAX], real[PATH_MAX];
        if (host_path(p, sizeof(p), HOST_SYS, "/class/input/%s", e->d_name) < 0 ||
            realpath(p, real) == NULL)
            continue;
        /* Made by software (uinput, a remote-desktop tool): not a
         * keyboard someone at the host types on. */
        if (strstr(real, "/devices/virtual/") != NULL)
            continue;
        if (!dev_users_below(p, devdir)) {
            elsewhere++;
            continue;
        }
        below++;
        char name[128];
        if (host_path(p, sizeof(p), HOST_SYS, "/class/input/%s/name", e->d_name) < 0 ||
            hostfile_read(p, name, sizeof(name)) < 0)
            snprintf(name, sizeof(name), "%s", e->d_name);
        text_append(found, len, "%s\"%s\"", found[0] ? ", " : "", name);
    }
    if (below == 0 || elsewhere > 0)
        found[0] = '\0';
}

int usb_find_host_use(const struct usb_dev *d, bool force, struct usb_host_use *out,
                      struct vmrun_error *err)
{
    *out = (struct usb_host_use){0};
    if (d->device_class == USB_CLASS_HUB) {
        out->refused = out->loses_data = true;
        snprintf(out->why, sizeof(out->why),
                 "it is a hub: QEMU passes the devices behind a hub, not the hub (name the port "
                 "of the device plugged into it)");
        return 0;
    }
    char devdir[PATH_MAX];
    int r = usb_dev_sysfs_dir(d, devdir, sizeof(devdir), err);
    if (r < 0)
        return r;

    char storage[768];
    if ((r = dev_users_storage(devdir, storage, sizeof(storage), err)) < 0)
        return r;
    if (storage[0] != '\0') {
        out->refused = out->loses_data = true;
        snprintf(out->why, sizeof(out->why),
                 "the host uses its disk: %s. Taking it would lose data; unmount it (and "
                 "swapoff) first",
                 storage);
        return 0;
    }

    char keyboard[512];
    only_keyboard(devdir, keyboard, sizeof(keyboard));
    if (keyboard[0] != '\0' && !force) {
        out->refused = true;
        snprintf(out->why, sizeof(out->why),
                 "it is the host's only keyboard (%s): the host would be left without one. Plug "
                 "in another keyboard, give the guest this one through input[] (switched "
                 "between host and guest with a hotkey), or use --force",
                 keyboard);
        return 0;
    }
    if (keyboard[0] != '\0')
        text_append(out->note, sizeof(out->note), "the host loses its only keyboard (%s)",
                    keyboard);

    char up[256];
    if ((r = dev_users_network(devdir, up, sizeof(up), err)) < 0)
        return r;
    if (up[0] != '\0')
        text_append(out->note, sizeof(out->note), "%sthe host loses its network interface %s",
                    out->note[0] ? "; " : "", up);
    return 0;
}
