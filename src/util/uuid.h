// Random (version 4) UUIDs, for metadata.uid of tasks the local backend
// stores: Kubernetes gives every object one, and the Docker backend labels
// containers with it so a re-created task of the same name never adopts the
// containers of the one before.
#pragma once

#include <string>

#include "util/error.h"

namespace ctask {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from getrandom(2).
Result<std::string> NewUuid();

}  // namespace ctask
