#pragma once
// index::Store over the API: the queries go to a vigild through a Client, so that a caller written
// against the Store (the command line) works the same on a local index file and on a server.
// Writes other than cameras, watchlist and alert states, and recording-only reads (segments, usage)
// are FailedPrecondition: a remote client does not record.

#include <memory>
#include <mutex>

#include "index/store.h"
#include "proto/client.h"

namespace vigil::api {

std::unique_ptr<index::Store> MakeRemoteStore(std::unique_ptr<Client> client);

}  // namespace vigil::api
