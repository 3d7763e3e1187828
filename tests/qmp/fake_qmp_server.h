/* A scripted fake QMP server for the client's tests, in the manner of a
 * monitor test harness: a thread on one end of a socketpair (or a listening
 * socket) that follows a script step by step. Every command the client sends
 * must be the one the script expects next, with the same arguments; anything
 * else is recorded as a failure and the server hangs up, so the client fails
 * too instead of waiting. */
#ifndef VMRUN_FAKE_QMP_SERVER_H
#define VMRUN_FAKE_QMP_SERVER_H

#include <stddef.h>

enum fake_op {
    FAKE_END,
    FAKE_SEND,        /* text: bytes sent as they are, in one write */
    FAKE_SEND_SPLIT,  /* text: sent n bytes at a time, with a pause between */
    FAKE_SEND_LONG,   /* a line of n bytes (without "\r\n") of one JSON string */
    FAKE_SEND_EVENTS, /* n events named EV, data {"n": i}, in one write */
    FAKE_SEND_BIG_EVENTS, /* n events named BIG, data {"n": i, "blob": 64 KiB}, one write
                           * each */
    FAKE_EXPECT,      /* text: the command; args: its arguments (JSON) or NULL */
    FAKE_REPLY,       /* text: a JSON object sent with the id of command n
                       * (counting from the most recent, 0) */
    FAKE_REPLY_SPLIT, /* text: a JSON object sent with the id of the most
                       * recent command, n bytes at a time */
    FAKE_SLEEP,       /* n milliseconds */
    FAKE_SIGNAL,      /* SIGUSR1 to the thread that started the server */
    FAKE_CLOSE,       /* hang up now */
};

struct fake_step {
    enum fake_op op;
    const char *text;
    const char *args;
    size_t n;
};

#define F_SEND(t)                                                                                  \
    {                                                                                              \
        FAKE_SEND, (t), NULL, 0                                                                    \
    }
#define F_SPLIT(t, chunk)                                                                          \
    {                                                                                              \
        FAKE_SEND_SPLIT, (t), NULL, (chunk)                                                        \
    }
#define F_LONG(len)                                                                                \
    {                                                                                              \
        FAKE_SEND_LONG, NULL, NULL, (len)                                                          \
    }
#define F_EVENTS(count)                                                                            \
    {                                                                                              \
        FAKE_SEND_EVENTS, NULL, NULL, (count)                                                      \
    }
#define F_BIG_EVENTS(count)                                                                        \
    {                                                                                              \
        FAKE_SEND_BIG_EVENTS, NULL, NULL, (count)                                                  \
    }
#define F_EXPECT(cmd, args)                                                                        \
    {                                                                                              \
        FAKE_EXPECT, (cmd), (args), 0                                                              \
    }
#define F_REPLY(json)                                                                              \
    {                                                                                              \
        FAKE_REPLY, (json), NULL, 0                                                                \
    }
#define F_REPLY_TO(back, json)                                                                     \
    {                                                                                              \
        FAKE_REPLY, (json), NULL, (back)                                                           \
    }
#define F_REPLY_SPLIT(json, chunk)                                                                 \
    {                                                                                              \
        FAKE_REPLY_SPLIT, (json), NULL, (chunk)                                                    \
    }
#define F_SLEEP(ms)                                                                                \
    {                                                                                              \
        FAKE_SLEEP, NULL, NULL, (ms)                                                               \
    }
#define F_SIGNAL()                                                                                 \
    {                                                                                              \
        FAKE_SIGNAL, NULL, NULL, 0                                                                 \
    }
#define F_CLOSE()                                                                                  \
    {                                                                                              \
        FAKE_CLOSE, NULL, NULL, 0                                                                  \
    }
#define F_END()                                                                                    \
    {                                                                                              \
        FAKE_END, NULL, NULL, 0                                                                    \
    }

#define F_GREETING_TEXT                                                                            \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 7}, "              \
    "\"package\": \"Debian 1:7.2\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define F_GREETING F_SEND(F_GREETING_TEXT)
#define F_CAPABILITIES F_EXPECT("qmp_capabilities", NULL), F_REPLY("{\"return\": {}}")

struct fake_server;

/* Start the server on a socketpair; *client_fd receives the client's end. */
struct fake_server *fake_server_start(const struct fake_step *script, int *client_fd);

/* Start the server on a unix socket at path that appears only after
 * delay_ms, as QEMU's does shortly after it starts. */
struct fake_server *fake_server_listen(const char *path, int delay_ms,
                                       const struct fake_step *script);

/* After the script the server waits for the client to hang up (a command
 * then is a failure). Joins the thread; returns NULL when everything went by
 * the script, else a description of the first deviation (caller frees). */
char *fake_server_finish(struct fake_server *s);

#define assert_fake_server_ok(s)                                                                   \
    do {                                                                                           \
        char *failure_ = fake_server_finish(s);                                                    \
        if (failure_ != NULL)                                                                      \
            fail_msg("fake QMP server: %s", failure_);                                             \
    } while (0)

#endif
