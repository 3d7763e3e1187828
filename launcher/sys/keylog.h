/* The test build's record of the profiles it accepted, for the test
 * suite's key coverage (tests/e2e/key_coverage.py): with the seam
 * SEAM_KEY_LOG set, each profile vmrun-test loads is appended to the file
 * it names as one line of compact JSON, so the suite can see which keys
 * each test set and to what. The installed program has no seams: there
 * this does nothing. */
#ifndef VMRUN_KEYLOG_H
#define VMRUN_KEYLOG_H

/* Appends the profile at path (already loaded and accepted) to the key
 * log. Best effort: a log that cannot be written only lacks the line, which
 * the coverage check then reports. */
void keylog_profile(const char *path);

#endif
