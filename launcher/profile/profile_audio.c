/* The "audio" section of a profile: the guest's sound card and the host
 * backend it plays through. Pure, like the rest of the parser. */
#include <stdlib.h>
#include <string.h>

#include "profile/profile_sections.h"

const char *const profile_audio_keys[] = {"backend", "device", NULL};
static const char *const audio_backend_names[] = {"none", "pipewire", "pa", "alsa", NULL};
static const char *const audio_device_names[] = {"hda", "usb", "ac97", NULL};

void profile_parse_audio(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const cJSON *o = pj_member(root, "audio");
    if (o == NULL)
        return;
    size_t saved = pj_push_key(pj, "audio");
    if (pj_object(pj, o, profile_audio_keys)) {
        p->audio.present = true;
        p->audio.backend = VM_AUDIO_PIPEWIRE;
        int v;
        if (pj_get_enum(pj, o, "backend", audio_backend_names, &v) > 0)
            p->audio.backend = (enum vm_audio_backend)v;
        if (pj_get_enum(pj, o, "device", audio_device_names, &v) > 0)
            p->audio.device = strdup(audio_device_names[v]);
    }
    pj_pop(pj, saved);
}
