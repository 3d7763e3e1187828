/* Small pieces of text for messages. */
#ifndef VMRUN_TEXT_H
#define VMRUN_TEXT_H

#include <stddef.h>
#include <sys/types.h>

/* Append to the string in buf (len bytes in all), cutting what does not
 * fit; a full buffer is left as it is. */
void text_append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A user for a message: their name, or "uid N" when the user database has
 * none. Returns buf. */
const char *text_user(uid_t uid, char *buf, size_t len);

#endif
