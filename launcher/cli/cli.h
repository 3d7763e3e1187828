/* The subcommands of the vmrun program. Each lives in its own cli_NAME.c,
 * parses its own options, prints, and returns an exit code (error.h). */
#ifndef VMRUN_CLI_H
#define VMRUN_CLI_H

int cli_print_cmd(int argc, char **argv);
int cli_start(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_input(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_recover(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_iommu(int argc, char **argv);
int cli_desktop(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_rom(int argc, char **argv);
int cli_usb(int argc, char **argv);

/* Shared option helpers. */
/* True when argv[i] is "--help" or "-h" anywhere in argv[1..]. */
int cli_wants_help(int argc, char **argv);

#endif
