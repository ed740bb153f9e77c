// The rendezvous store's server, speaking the wire protocol of libtorch's
// c10d::TCPStore (TCPStore.cpp of torch 1.13: a query byte, then length-prefixed
// keys and values), so the TCPStore clients of flatdist and PyTorch processes
// alike can use it.
//
// libtorch 1.13's own TCPStore server binds every interface whatever host it is
// given, and serves its clients one blocking read at a time, so a stranger who
// sends half a message stalls the whole rendezvous (a key length of 1 GiB stalls
// it too). This one binds only the address it is given, reads every connection
// without blocking, bounds every length, and drops a connection that breaks the
// protocol.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace flatdist {

class StoreServer {
 public:
  // Listens on host:port (port 0 picks a free one) and serves from a thread of its own.
  // A connection that sets a key alivePrefix + r is rank r; when it closes, the server sets
  // gonePrefix + r to the order in which ranks left (1 for the first), so survivors can name it.
  // Throws std::runtime_error when the host does not resolve or the port cannot be bound.
  StoreServer(const std::string& host, uint16_t port, std::string alivePrefix, std::string gonePrefix);
  // Stops serving and closes every connection.
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  // The port it listens on (the one picked, when asked for 0).
  uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flatdist
