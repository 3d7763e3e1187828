/* QMP message classification: one line of JSON from QEMU into one of the
 * four kinds of message the protocol has. A pure function of the bytes. */
#ifndef VMRUN_QMP_MSG_H
#define VMRUN_QMP_MSG_H

#include <cjson/cJSON.h>
#include <stddef.h>

enum qmp_msg_kind {
    QMP_MSG_GREETING, /* {"QMP": {"version": {"qemu": {...}}, ...}} */
    QMP_MSG_RETURN,   /* {"return": VALUE, "id": ID} */
    QMP_MSG_ERROR,    /* {"error": {"class": C, "desc": D}, "id": ID} (id optional) */
    QMP_MSG_EVENT,    /* {"event": NAME, "data": {...}, "timestamp": {...}} */
};

/* Every pointer points into root, which the message owns. */
struct qmp_msg {
    enum qmp_msg_kind kind;
    cJSON *root;
    const cJSON *id;              /* RETURN, ERROR: the "id" member, or NULL */
    int major, minor, micro;      /* GREETING */
    cJSON *value;                 /* RETURN: the "return" member */
    const char *err_class, *desc; /* ERROR */
    const char *event;            /* EVENT */
    cJSON *data;                  /* EVENT: the "data" member, or NULL */
    long long ts_sec, ts_usec;    /* EVENT: 0 when QEMU sent no timestamp */
};

/* Parse line[0..len) into *msg. Returns 0, -EBADMSG for anything that is not
 * exactly one JSON object shaped like a QMP message (with a short reason in
 * why, which may be NULL), or -ENOMEM. On success free with qmp_msg_free. */
int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *msg, const char **why);
void qmp_msg_free(struct qmp_msg *msg);

/* Whether an "id" member is the integer id we sent. */
int qmp_msg_id_is(const cJSON *id, unsigned long long want);

#endif
