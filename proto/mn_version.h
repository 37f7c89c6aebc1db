/* mn_version.h - the release this tree builds (shown by --version, status, metrics). */
#ifndef MN_VERSION_H
#define MN_VERSION_H

#define MN_VERSION "0.5.0"

#endif
