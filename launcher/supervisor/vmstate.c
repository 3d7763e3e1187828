/* state.json (vmstate.h). */
#include "supervisor/vmstate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static cJSON *cpus_json(const struct cpu_list *l)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < l->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(l->cpus[i]));
    return a;
}

char *vm_state_to_json(const struct vm_state *st, const struct vm_profile *p)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", st->name);
    cJSON_AddStringToObject(j, "state", st->state);
    cJSON_AddStringToObject(j, "profile", st->profile);
    cJSON_AddNumberToObject(j, "supervisor_pid", st->supervisor_pid);
    cJSON_AddNumberToObject(j, "qemu_pid", st->qemu_pid);
    cJSON_AddNumberToObject(j, "started_at", (double)st->started_at);
    cJSON *v = cJSON_AddArrayToObject(j, "vcpu_threads");
    for (size_t i = 0; i < st->threads.n_vcpu; i++)
        cJSON_AddItemToArray(v, cJSON_CreateNumber(st->threads.vcpu[i]));
    cJSON *io = cJSON_AddArrayToObject(j, "iothreads");
    for (size_t i = 0; i < st->threads.n_io; i++)
        cJSON_AddItemToArray(io, cJSON_CreateNumber(st->threads.io[i]));
    cJSON_AddNumberToObject(j, "memory_bytes", (double)st->memory_bytes);
    cJSON_AddNumberToObject(j, "hugepage_kb", st->hugepage_kb);
    cJSON_AddNumberToObject(j, "numa_node", st->numa_node);
    cJSON_AddStringToObject(j, "memory_file", st->memory_file);
    cJSON *g = cJSON_AddArrayToObject(j, "vfio_groups");
    for (size_t i = 0; i < st->n_vfio_groups; i++)
        cJSON_AddItemToArray(g, cJSON_CreateNumber(st->vfio_groups[i]));
    if (p != NULL && p->description != NULL)
        cJSON_AddStringToObject(j, "description", p->description);
    if (p != NULL) {
        cJSON *pin = cJSON_AddObjectToObject(j, "pin");
        cJSON_AddItemToObject(pin, "vcpus", cpus_json(&p->cpu.vcpus));
        cJSON_AddItemToObject(pin, "emulator", cpus_json(&p->cpu.emulator));
        cJSON_AddItemToObject(pin, "iothreads", cpus_json(&p->cpu.iothreads));
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

static double num(const cJSON *j, const char *key, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void str(const cJSON *j, const char *key, char *buf, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    snprintf(buf, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int vm_state_from_json(const char *text, struct vm_state *st)
{
    memset(st, 0, sizeof(*st));
    cJSON *j = cJSON_Parse(text);
    if (j == NULL)
        return -EINVAL;
    str(j, "name", st->name, sizeof(st->name));
    str(j, "state", st->state, sizeof(st->state));
    str(j, "profile", st->profile, sizeof(st->profile));
    str(j, "memory_file", st->memory_file, sizeof(st->memory_file));
    st->supervisor_pid = (pid_t)num(j, "supervisor_pid", 0);
    st->qemu_pid = (pid_t)num(j, "qemu_pid", 0);
    st->started_at = (time_t)num(j, "started_at", 0);
    st->memory_bytes = (uint64_t)num(j, "memory_bytes", 0);
    st->hugepage_kb = (unsigned)num(j, "hugepage_kb", 0);
    st->numa_node = (int)num(j, "numa_node", -1);
    const cJSON *a, *e;
    a = cJSON_GetObjectItemCaseSensitive(j, "vcpu_threads");
    cJSON_ArrayForEach(e, a) if (cJSON_IsNumber(e) && st->threads.n_vcpu < 512)
        st->threads.vcpu[st->threads.n_vcpu++] = (pid_t)e->valuedouble;
    a = cJSON_GetObjectItemCaseSensitive(j, "iothreads");
    cJSON_ArrayForEach(e, a) if (cJSON_IsNumber(e) && st->threads.n_io < 64)
        st->threads.io[st->threads.n_io++] = (pid_t)e->valuedouble;
    a = cJSON_GetObjectItemCaseSensitive(j, "vfio_groups");
    cJSON_ArrayForEach(e, a) if (cJSON_IsNumber(e) && st->n_vfio_groups < 64)
        st->vfio_groups[st->n_vfio_groups++] = (unsigned)e->valuedouble;
    cJSON_Delete(j);
    return 0;
}
