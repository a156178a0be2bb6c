#include "http/client.h"

#include "http/stream_loop.h"

namespace ctask::http {

std::unique_ptr<StreamLoop> Client::NewStreamLoop() {
  return nullptr;
}

}  // namespace ctask::http
