/* What a user can send root's vmrun (signals.h). */
#include "sys/signals.h"

#include <signal.h>

void signals_shield(void)
{
    static const int shielded[] = {SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGPIPE};
    for (unsigned i = 0; i < sizeof(shielded) / sizeof(shielded[0]); i++)
        signal(shielded[i], SIG_IGN);
}

void signals_default_all(void)
{
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
}
