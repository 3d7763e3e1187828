#include "qmp_msg.h"

#include <errno.h>
#include <string.h>

static int bad(struct qmp_msg *msg, const char **why, const char *reason)
{
    if (why != NULL)
        *why = reason;
    qmp_msg_free(msg);
    return -EBADMSG;
}

/* An integer-valued JSON number that fits an int; QEMU's version fields. */
static int get_int(const cJSON *obj, const char *key, int *out)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0 && n->valuedouble <= 1e9))
        return -1;
    *out = (int)n->valuedouble;
    return 0;
}

static long long get_ll(const cJSON *obj, const char *key)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);
    /* The range check keeps the conversion defined for any number QEMU (or a
     * fuzzer) might send. */
    if (!cJSON_IsNumber(n) || !(n->valuedouble > -9e15 && n->valuedouble < 9e15))
        return 0;
    return (long long)n->valuedouble;
}

static int only_space(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return 0;
    return 1;
}

int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *msg, const char **why)
{
    *msg = (struct qmp_msg){0};
    const char *end = NULL;
    msg->root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (msg->root == NULL)
        return bad(msg, why, "invalid JSON");
    /* cJSON stops after the first value; QMP puts exactly one per line. */
    if (end == NULL || end < line || end > line + len || !only_space(end, line + len))
        return bad(msg, why, "trailing data after the JSON value");
    if (!cJSON_IsObject(msg->root))
        return bad(msg, why, "not a JSON object");

    cJSON *greeting = cJSON_GetObjectItemCaseSensitive(msg->root, "QMP");
    cJSON *ret = cJSON_GetObjectItemCaseSensitive(msg->root, "return");
    cJSON *error = cJSON_GetObjectItemCaseSensitive(msg->root, "error");
    cJSON *event = cJSON_GetObjectItemCaseSensitive(msg->root, "event");
    if ((greeting != NULL) + (ret != NULL) + (error != NULL) + (event != NULL) != 1)
        return bad(msg, why, "not exactly one of QMP, return, error, event");

    if (greeting != NULL) {
        cJSON *version = cJSON_GetObjectItemCaseSensitive(greeting, "version");
        cJSON *qemu = cJSON_GetObjectItemCaseSensitive(version, "qemu");
        if (!cJSON_IsObject(greeting) || !cJSON_IsObject(version) || !cJSON_IsObject(qemu) ||
            get_int(qemu, "major", &msg->major) < 0 || get_int(qemu, "minor", &msg->minor) < 0 ||
            get_int(qemu, "micro", &msg->micro) < 0)
            return bad(msg, why, "greeting without QMP.version.qemu major, minor, micro");
        msg->kind = QMP_MSG_GREETING;
        return 0;
    }
    if (event != NULL) {
        cJSON *data = cJSON_GetObjectItemCaseSensitive(msg->root, "data");
        cJSON *ts = cJSON_GetObjectItemCaseSensitive(msg->root, "timestamp");
        if (!cJSON_IsString(event) || event->valuestring == NULL)
            return bad(msg, why, "event name is not a string");
        if (data != NULL && !cJSON_IsObject(data))
            return bad(msg, why, "event data is not an object");
        if (ts != NULL && !cJSON_IsObject(ts))
            return bad(msg, why, "event timestamp is not an object");
        msg->kind = QMP_MSG_EVENT;
        msg->event = event->valuestring;
        msg->data = data;
        msg->ts_sec = get_ll(ts, "seconds");
        msg->ts_usec = get_ll(ts, "microseconds");
        return 0;
    }
    msg->id = cJSON_GetObjectItemCaseSensitive(msg->root, "id");
    if (ret != NULL) {
        msg->kind = QMP_MSG_RETURN;
        msg->value = ret;
        return 0;
    }
    cJSON *cls = cJSON_GetObjectItemCaseSensitive(error, "class");
    cJSON *desc = cJSON_GetObjectItemCaseSensitive(error, "desc");
    if (!cJSON_IsObject(error) || !cJSON_IsString(cls) || cls->valuestring == NULL ||
        !cJSON_IsString(desc) || desc->valuestring == NULL)
        return bad(msg, why, "error without string class and desc");
    msg->kind = QMP_MSG_ERROR;
    msg->err_class = cls->valuestring;
    msg->desc = desc->valuestring;
    return 0;
}

void qmp_msg_free(struct qmp_msg *msg)
{
    cJSON_Delete(msg->root);
    *msg = (struct qmp_msg){0};
}

int qmp_msg_id_is(const cJSON *id, unsigned long long want)
{
    /* Our ids are small integers, exactly representable as doubles. */
    return cJSON_IsNumber(id) && id->valuedouble == (double)want;
}
