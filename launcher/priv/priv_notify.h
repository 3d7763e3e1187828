/* Desktop notifications for a VM started without a terminal (a desktop
 * shortcut through pkexec): the user learns why it failed or stopped. */
#ifndef VMRUN_PRIV_NOTIFY_H
#define VMRUN_PRIV_NOTIFY_H

/* When vmrun has no terminal (neither stdin nor stderr is a tty), the
 * invoking user is known (SUDO_UID/PKEXEC_UID, or vmrun's own uid when it
 * is not root) and notify-send exists, run
 *   notify-send -a vmrun -i computer SUMMARY BODY
 * as that user, never as root, on their session bus
 * (unix:path=/run/user/UID/bus), and wait for it at most 5 s. Otherwise,
 * and on any failure, do nothing: a notification is a courtesy.
 *
 * VMRUN_NOTIFY_SEND names another program to run instead (tests); it too
 * runs as the user. */
void notify_user(const char *summary, const char *body);

#endif
