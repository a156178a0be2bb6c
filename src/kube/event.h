// MakeEvent: the core/v1 Event a controller records about an object, built
// the way client-go's event recorder builds it (tools/record), so that
// `kubectl describe` and `kubectl get events` show it like any other.
//
// Contract: pure. The event is named "<object name>.<unix nanoseconds in
// hex>" in the object's namespace ("default" for a cluster-scoped object);
// its involvedObject is the object's apiVersion, kind, name, namespace, uid
// and resourceVersion (those that are set). firstTimestamp and lastTimestamp
// are `now` in whole seconds and eventTime is null: with eventTime set the
// API would also require an action (the events.k8s.io shape), which a
// recorder of this kind does not have. The message is made valid UTF-8 and
// cut to kMaxEventMessageBytes at a character boundary, as the API refuses
// longer ones. `type` is "Normal" or "Warning"; `reason` a short
// UpperCamelCase word.
//
// Thread-safety: a pure function.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "api/json.h"

namespace ctask::kube {

// The API server's limit on an event's message (note).
inline constexpr size_t kMaxEventMessageBytes = 1024;

// `component` goes to source.component and reportingComponent; `instance`
// (client-go uses the host name) to source.host and reportingInstance when
// not empty.
api::Json MakeEvent(const api::Json& involved_object, std::string_view type, std::string_view reason,
                    std::string_view message, std::string_view component, std::chrono::system_clock::time_point now,
                    std::string_view instance = {});

// `text` as valid UTF-8 of at most `max_bytes`, cut at a character boundary.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

}  // namespace ctask::kube
