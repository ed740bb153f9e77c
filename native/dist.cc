// c10d through the binding: the rendezvous store and Gloo process groups that
// torch.distributed uses on CPUs, so flatdist processes and PyTorch processes can
// share one group.
//
// The store *client* is libtorch's c10d::TCPStore. The store *server* is ours:
// libtorch 1.13's TCPStore server binds every interface whatever host it is
// given, and serves its clients one blocking read at a time, so a stranger who
// sends half a message stalls the whole rendezvous (a key length of 1 GiB
// stalls it too). StoreServer speaks the same wire protocol (TCPStore.cpp of
// torch 1.13: a query byte, then length-prefixed keys and values), binds only
// the address it is given, reads every connection without blocking, bounds
// every length, and drops a connection that breaks the protocol.
// libtorch-dev builds c10d with Gloo; its header hides the class without this.
#define USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "tensor.h"

namespace flatdist {

namespace {

using Info = const Napi::CallbackInfo&;
using Bytes = std::vector<uint8_t>;
using Millis = std::chrono::milliseconds;

// ---------------------------------------------------------------------------
// StoreServer

// Query bytes of torch 1.13's TCPStore protocol.
enum Query : uint8_t { SET = 0, COMPARE_SET = 1, GET = 2, ADD = 3, CHECK = 4, WAIT = 5, GETNUMKEYS = 6, WATCH_KEY = 7, DELETE_KEY = 8 };
constexpr uint8_t kReady = 0, kNotReady = 1, kStopWaiting = 0;

// Bounds on what one peer may make the server hold.
constexpr uint64_t kMaxKey = 4096;
constexpr uint64_t kMaxValue = 4u << 20;
constexpr uint64_t kMaxKeysPerQuery = 4096;
constexpr size_t kMaxConnections = 512;
constexpr size_t kMaxStoredBytes = 256u << 20;
constexpr size_t kMaxPendingReply = 64u << 20;  // a peer that asks without reading the answers is dropped

// Keys a process sets to say "this connection is rank r"; when such a
// connection closes, the server records the rank as gone (the value: 1 for the
// first rank gone, 2 for the next...), so survivors can name who left first.
const std::string kAlivePrefix = "/flatdist/alive/";
const std::string kGonePrefix = "/flatdist/gone/";

struct ProtocolError {};
struct Incomplete {};

// Reads one query from the front of a buffer; throws Incomplete when more bytes
// are needed and ProtocolError when the bytes cannot be a valid query.
class Reader {
 public:
  explicit Reader(const Bytes& b) : b_(b) {}
  size_t consumed() const { return pos_; }
  uint8_t u8() {
    need(1);
    return b_[pos_++];
  }
  uint64_t u64() {
    need(8);
    uint64_t v;
    std::memcpy(&v, b_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  Bytes bytes(uint64_t limit) {
    uint64_t n = u64();
    if (n > limit) throw ProtocolError{};
    need(n);
    Bytes out(b_.begin() + pos_, b_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }
  std::string key() {
    Bytes k = bytes(kMaxKey);
    return std::string(k.begin(), k.end());
  }
  std::vector<std::string> keys() {
    uint64_t n = u64();
    if (n > kMaxKeysPerQuery) throw ProtocolError{};
    std::vector<std::string> out;
    for (uint64_t i = 0; i < n; ++i) out.push_back(key());
    return out;
  }

 private:
  void need(uint64_t n) const {
    if (b_.size() - pos_ < n) throw Incomplete{};
  }
  const Bytes& b_;
  size_t pos_ = 0;
};

class StoreServer {
 public:
  StoreServer(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) throw std::runtime_error("store: cannot resolve host '" + host + "': " + gai_strerror(rc));
    std::string lastError = "no address";
    for (addrinfo* a = res; a != nullptr && listenFd_ < 0; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) {
        listenFd_ = fd;
      } else {
        lastError = std::strerror(errno);
        close(fd);
      }
    }
    freeaddrinfo(res);
    if (listenFd_ < 0) throw std::runtime_error("store: cannot listen on " + host + ":" + service + ": " + lastError);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(listenFd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      close(listenFd_);
      throw std::runtime_error("store: cannot create a wake-up pipe");
    }
    thread_ = std::thread([this] { run(); });
  }

  ~StoreServer() { stop(); }

  uint16_t port() const { return port_; }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    uint8_t b = 1;
    (void)!write(wake_[1], &b, 1);
    thread_.join();
    for (auto& [id, c] : conns_) close(c.fd);
    conns_.clear();
    close(listenFd_);
    close(wake_[0]);
    close(wake_[1]);
  }

 private:
  struct Conn {
    int fd;
    Bytes in, out;
    std::string rank;  // set once the peer announced itself through kAlivePrefix
  };

  void run() {
    while (!stopping_) {
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listenFd_, POLLIN, 0}};
      std::vector<uint64_t> ids;
      for (auto& [id, c] : conns_) {
        fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        ids.push_back(id);
      }
      if (poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[1].revents & POLLIN) accept_();
      for (size_t i = 0; i < ids.size(); ++i) {
        short ev = fds[i + 2].revents;
        if (ev == 0) continue;
        auto it = conns_.find(ids[i]);
        if (it == conns_.end()) continue;
        bool ok = true;
        if (ev & POLLIN) ok = readFrom(ids[i]);
        if (ok && (ev & POLLOUT)) ok = flush(conns_.at(ids[i]));
        if (ok && (ev & (POLLERR | POLLHUP)) && !(ev & POLLIN)) ok = false;
        if (!ok) drop(ids[i]);
      }
    }
  }

  void accept_() {
    for (;;) {
      int fd = accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (conns_.size() >= kMaxConnections) {
        close(fd);
        continue;
      }
      conns_.emplace(nextId_++, Conn{fd, {}, {}, {}});
    }
  }

  // Reads what is available and serves every complete query; false drops the peer.
  bool readFrom(uint64_t id) {
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = recv(conns_.at(id).fd, buf, sizeof buf, 0);
      if (n == 0) return false;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return false;
      }
      Bytes& in = conns_.at(id).in;
      in.insert(in.end(), buf, buf + n);
      if (in.size() > kMaxValue * 2 + kMaxKey + 64) return false;
    }
    for (;;) {
      Conn& c = conns_.at(id);
      if (c.in.empty()) return flush(c);
      size_t used;
      try {
        Reader r(c.in);
        serve(id, r);
        used = r.consumed();
      } catch (const Incomplete&) {
        return flush(c);
      } catch (const ProtocolError&) {
        return false;
      }
      Conn& after = conns_.at(id);
      after.in.erase(after.in.begin(), after.in.begin() + static_cast<std::ptrdiff_t>(used));
      if (after.out.size() > kMaxPendingReply) return false;
    }
  }

  // Parses one whole query before changing any state, so a partial query has no effect.
  void serve(uint64_t id, Reader& r) {
    switch (r.u8()) {
      case SET: {
        std::string k = r.key();
        Bytes v = r.bytes(kMaxValue);
        if (k.rfind(kAlivePrefix, 0) == 0) conns_.at(id).rank = k.substr(kAlivePrefix.size());
        put(k, std::move(v));
        return;
      }
      case COMPARE_SET: {
        std::string k = r.key();
        Bytes expected = r.bytes(kMaxValue), desired = r.bytes(kMaxValue);
        auto it = kv_.find(k);
        if (it == kv_.end()) {
          if (expected.empty()) {
            put(k, desired);
            reply(id, vec(desired));
          } else {
            reply(id, vec(expected));
          }
        } else {
          if (it->second == expected) put(k, std::move(desired));
          reply(id, vec(kv_.at(k)));
        }
        return;
      }
      case GET: {
        auto it = kv_.find(r.key());
        if (it == kv_.end()) throw ProtocolError{};  // clients wait for a key before getting it
        reply(id, vec(it->second));
        return;
      }
      case ADD: {
        std::string k = r.key();
        int64_t delta = static_cast<int64_t>(r.u64());
        int64_t value = delta;
        auto it = kv_.find(k);
        if (it != kv_.end()) {
          try {
            value += std::stoll(std::string(it->second.begin(), it->second.end()));
          } catch (const std::exception&) {
            throw ProtocolError{};
          }
        }
        std::string s = std::to_string(value);
        put(k, Bytes(s.begin(), s.end()));
        reply(id, i64(value));
        return;
      }
      case CHECK: {
        bool ready = true;
        for (const auto& k : r.keys()) ready = ready && kv_.count(k) > 0;
        reply(id, Bytes{ready ? kReady : kNotReady});
        return;
      }
      case WAIT: {
        int missing = 0;
        for (const auto& k : r.keys()) {
          if (kv_.count(k) > 0) continue;
          waiting_[k].push_back(id);
          ++missing;
        }
        if (missing == 0) reply(id, Bytes{kStopWaiting});
        else awaited_[id] = missing;
        return;
      }
      case GETNUMKEYS:
        reply(id, i64(static_cast<int64_t>(kv_.size())));
        return;
      case DELETE_KEY: {
        std::string k = r.key();
        auto it = kv_.find(k);
        int64_t erased = 0;
        if (it != kv_.end()) {
          stored_ -= it->second.size();
          kv_.erase(it);
          erased = 1;
        }
        reply(id, i64(erased));
        return;
      }
      default:  // WATCH_KEY is not served: nothing in a flatdist group uses it
        throw ProtocolError{};
    }
  }

  void put(const std::string& k, Bytes v) {
    auto it = kv_.find(k);
    size_t old = it == kv_.end() ? 0 : it->second.size();
    if (stored_ - old + v.size() > kMaxStoredBytes) throw ProtocolError{};
    stored_ = stored_ - old + v.size();
    kv_[k] = std::move(v);
    auto w = waiting_.find(k);
    if (w == waiting_.end()) return;
    std::vector<uint64_t> ids = std::move(w->second);
    waiting_.erase(w);
    for (uint64_t id : ids) {
      auto a = awaited_.find(id);
      if (a == awaited_.end() || --a->second > 0) continue;
      awaited_.erase(a);
      reply(id, Bytes{kStopWaiting});
    }
  }

  void reply(uint64_t id, const Bytes& b) {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second.out.insert(it->second.out.end(), b.begin(), b.end());
  }

  // Sends what the socket takes now; the rest waits for POLLOUT.
  bool flush(Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.out.erase(c.out.begin(), c.out.begin() + n);
    }
    return true;
  }

  void drop(uint64_t id) {
    auto it = conns_.find(id);
    std::string rank = it->second.rank;
    close(it->second.fd);
    conns_.erase(it);
    awaited_.erase(id);
    if (!rank.empty()) {
      try {
        std::string order = std::to_string(++gone_);
        put(kGonePrefix + rank, Bytes(order.begin(), order.end()));
      } catch (const ProtocolError&) {
        // the store is full: the rank goes unnamed, nothing else is lost
      }
    }
  }

  static Bytes i64(int64_t v) {
    Bytes b(8);
    std::memcpy(b.data(), &v, 8);
    return b;
  }
  static Bytes vec(const Bytes& v) {
    Bytes b = i64(static_cast<int64_t>(v.size()));
    b.insert(b.end(), v.begin(), v.end());
    return b;
  }

  int listenFd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, Conn> conns_;
  std::unordered_map<std::string, Bytes> kv_;
  size_t stored_ = 0;
  uint64_t gone_ = 0;  // ranks gone so far: each gone key holds its place in that order
  std::unordered_map<std::string, std::vector<uint64_t>> waiting_;
  std::unordered_map<uint64_t, int> awaited_;
};

class StoreServerWrap : public Napi::ObjectWrap<StoreServerWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "StoreServer",
                       {InstanceAccessor("port", &StoreServerWrap::Port, nullptr), InstanceMethod("close", &StoreServerWrap::Close)});
  }

  // new StoreServer(host, port): listens on host:port (port 0 picks a free one).
  explicit StoreServerWrap(Info info) : Napi::ObjectWrap<StoreServerWrap>(info) {
    guarded(info, [&]() -> Napi::Value {
      int64_t port = argInt(info, 1);
      if (port < 0 || port > 65535) throw Napi::RangeError::New(info.Env(), "store port must be in 0..65535");
      server_ = std::make_unique<StoreServer>(argString(info, 0), static_cast<uint16_t>(port));
      return info.Env().Undefined();
    });
  }

 private:
  Napi::Value Port(Info info) { return Napi::Number::New(info.Env(), server_ ? server_->port() : 0); }
  Napi::Value Close(Info info) {
    server_.reset();
    return info.Env().Undefined();
  }
  std::unique_ptr<StoreServer> server_;
};

// ---------------------------------------------------------------------------
// Store client

const napi_type_tag kStoreTag = {0x6f1c2a7e5d3b4c21ULL, 0x9a8b7c6d5e4f3a2bULL};

Bytes argBytes(Info info, size_t i) {
  if (i < info.Length() && info[i].IsString()) {
    std::string s = info[i].As<Napi::String>().Utf8Value();
    return Bytes(s.begin(), s.end());
  }
  if (i >= info.Length() || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " must be a string or a Uint8Array");
  }
  auto a = info[i].As<Napi::Uint8Array>();
  return Bytes(a.Data(), a.Data() + a.ElementLength());
}

std::vector<std::string> argStrings(Info info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " must be an array of strings");
  auto arr = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t j = 0; j < arr.Length(); ++j) {
    Napi::Value v = arr.Get(j);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " must be an array of strings");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

Millis argMillis(Info info, size_t i) {
  double ms = argNumber(info, i);
  if (!(ms > 0)) throw Napi::RangeError::New(info.Env(), "a timeout must be a positive number of milliseconds");
  return Millis(static_cast<int64_t>(ms));
}

class StoreWrap : public Napi::ObjectWrap<StoreWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Store",
                       {
                           InstanceMethod("set", &StoreWrap::Set),
                           InstanceMethod("get", &StoreWrap::Get),
                           InstanceMethod("add", &StoreWrap::Add),
                           InstanceMethod("check", &StoreWrap::Check),
                           InstanceMethod("wait", &StoreWrap::Wait),
                           InstanceMethod("deleteKey", &StoreWrap::DeleteKey),
                           InstanceMethod("close", &StoreWrap::Close),
                       });
  }

  // new Store(host, port, timeoutMs): a client of the store at host:port; it
  // retries the connection until the timeout, so it may start before the server.
  explicit StoreWrap(Info info) : Napi::ObjectWrap<StoreWrap>(info) {
    guarded(info, [&]() -> Napi::Value {
      c10d::TCPStoreOptions opts;
      int64_t port = argInt(info, 1);
      if (port < 1 || port > 65535) throw Napi::RangeError::New(info.Env(), "store port must be in 1..65535");
      opts.port = static_cast<uint16_t>(port);
      opts.isServer = false;
      opts.waitWorkers = false;
      opts.timeout = argMillis(info, 2);
      store_ = c10::make_intrusive<c10d::TCPStore>(argString(info, 0), opts);
      info.This().As<Napi::Object>().TypeTag(&kStoreTag);
      return info.Env().Undefined();
    });
  }

  c10::intrusive_ptr<c10d::TCPStore> store(Napi::Env env) {
    if (!store_) throw Napi::Error::New(env, "the store client was closed");
    return store_;
  }

 private:
  Napi::Value Set(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      store(info.Env())->set(argString(info, 0), argBytes(info, 1));
      return info.Env().Undefined();
    });
  }
  // get(key): waits (up to the store timeout) for the key, then returns its bytes.
  Napi::Value Get(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      Bytes v = store(info.Env())->get(argString(info, 0));
      auto out = Napi::Uint8Array::New(info.Env(), v.size());
      if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size());
      return out;
    });
  }
  Napi::Value Add(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), static_cast<double>(store(info.Env())->add(argString(info, 0), argInt(info, 1))));
    });
  }
  Napi::Value Check(Info info) {
    return guarded(info, [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), store(info.Env())->check(argStrings(info, 0))); });
  }
  Napi::Value Wait(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      store(info.Env())->wait(argStrings(info, 0), argMillis(info, 1));
      return info.Env().Undefined();
    });
  }
  Napi::Value DeleteKey(Info info) {
    return guarded(info, [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), store(info.Env())->deleteKey(argString(info, 0))); });
  }
  Napi::Value Close(Info info) {
    store_.reset();
    return info.Env().Undefined();
  }

  c10::intrusive_ptr<c10d::TCPStore> store_;
};

// ---------------------------------------------------------------------------
// Process group

class ProcessGroupWrap : public Napi::ObjectWrap<ProcessGroupWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ProcessGroup",
                       {
                           InstanceMethod("send", &ProcessGroupWrap::Send),
                           InstanceMethod("recv", &ProcessGroupWrap::Recv),
                           InstanceMethod("exchange", &ProcessGroupWrap::Exchange),
                           InstanceMethod("allreduce", &ProcessGroupWrap::Allreduce),
                           InstanceMethod("allgather", &ProcessGroupWrap::Allgather),
                           InstanceMethod("broadcast", &ProcessGroupWrap::Broadcast),
                           InstanceMethod("barrier", &ProcessGroupWrap::Barrier),
                           InstanceMethod("close", &ProcessGroupWrap::Close),
                       });
  }

  // new ProcessGroup(store, rank, size, timeoutMs, deviceKind, deviceName): joins the
  // Gloo group whose rendezvous runs through store; deviceKind 'hostname' binds
  // Gloo's sockets to the address deviceName resolves to, 'interface' to a
  // network interface. Blocks until every rank has joined or the timeout passes.
  explicit ProcessGroupWrap(Info info) : Napi::ObjectWrap<ProcessGroupWrap>(info) {
    guarded(info, [&]() -> Napi::Value {
      if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&kStoreTag)) {
        throw Napi::TypeError::New(info.Env(), "argument 1 must be a Store");
      }
      auto store = StoreWrap::Unwrap(info[0].As<Napi::Object>())->store(info.Env());
      rank_ = static_cast<int>(argInt(info, 1));
      size_ = static_cast<int>(argInt(info, 2));
      if (size_ < 1 || rank_ < 0 || rank_ >= size_) throw Napi::RangeError::New(info.Env(), "rank must be in 0..size-1");
      timeout_ = argMillis(info, 3);
      std::string kind = argString(info, 4), name = argString(info, 5);
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout_);
      if (kind == "hostname") opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(name));
      else if (kind == "interface") opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      else throw Napi::TypeError::New(info.Env(), "device kind must be 'hostname' or 'interface'");
      try {
        join(store, opts);
      } catch (const c10::Error& e) {
        throw std::runtime_error("rank " + std::to_string(rank_) + ": joining the group of " + std::to_string(size_) + " failed: " + e.what_without_backtrace());
      } catch (const std::exception& e) {
        throw std::runtime_error("rank " + std::to_string(rank_) + ": joining the group of " + std::to_string(size_) + " failed: " + e.what());
      }
      return info.Env().Undefined();
    });
  }

 private:
  // What torch.distributed.init_process_group(backend='gloo', store=...) does for
  // its default group, key for key, so PyTorch processes can take ranks: the group
  // named "0" rendezvouses under the prefix "0/", all ranks then meet at a
  // store-based barrier, and rank 0 hands out the group's sequence number.
  void join(const c10::intrusive_ptr<c10d::TCPStore>& store, const c10::intrusive_ptr<c10d::ProcessGroupGloo::Options>& opts) {
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("0", store);
    pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank_, size_, opts);
    const std::string barrier = "store_based_barrier_key:1";
    store->add(barrier, 1);
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (store->add(barrier, 0) < size_) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("timed out after " + std::to_string(timeout_.count()) + " ms in the store-based barrier that ends the rendezvous");
      }
      std::this_thread::sleep_for(Millis(10));
    }
    pg_->setSequenceNumberForGroup();
  }

  c10d::ProcessGroupGloo& pg(Napi::Env env) {
    if (!pg_) throw Napi::Error::New(env, "the process group was closed");
    return *pg_;
  }

  at::Tensor& argCpuTensor(Info info, size_t i) {
    at::Tensor& t = argTensor(info, i);
    if (!t.is_contiguous()) throw Napi::TypeError::New(info.Env(), "collectives need a contiguous tensor (call contiguous() first)");
    return t;
  }

  int argPeer(Info info, size_t i) {
    int64_t r = argInt(info, i);
    if (r < 0 || r >= size_ || r == rank_) {
      throw Napi::RangeError::New(info.Env(), "peer rank " + std::to_string(r) + " is not another rank of this group of " + std::to_string(size_));
    }
    return static_cast<int>(r);
  }

  // Waits for the work; Gloo's own timeout fires first and says which operation
  // stalled, the wait's margin only guards against a work that never finishes.
  void await(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
    try {
      work->wait(timeout_ + Millis(2000));
    } catch (const c10::Error& e) {
      throw std::runtime_error("rank " + std::to_string(rank_) + ": " + what + " failed: " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw std::runtime_error("rank " + std::to_string(rank_) + ": " + what + " failed: " + e.what());
    }
  }

  // send(tensor, dst, tag)
  Napi::Value Send(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<at::Tensor> ts{argCpuTensor(info, 0)};
      int dst = argPeer(info, 1);
      int tag = static_cast<int>(argInt(info, 2));
      await(pg(info.Env()).send(ts, dst, tag), "send to rank " + std::to_string(dst));
      return info.Env().Undefined();
    });
  }
  // recv(tensor, src, tag): fills tensor in place.
  Napi::Value Recv(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<at::Tensor> ts{argCpuTensor(info, 0)};
      int src = argPeer(info, 1);
      int tag = static_cast<int>(argInt(info, 2));
      await(pg(info.Env()).recv(ts, src, tag), "recv from rank " + std::to_string(src));
      return info.Env().Undefined();
    });
  }
  // exchange(sends, to, recvs, from, tag): posts every send and every receive,
  // then waits for them all, so a ring of neighbours cannot deadlock the way
  // blocking sends in sequence would (a Gloo send completes when its receive is posted).
  Napi::Value Exchange(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<at::Tensor> sends = argTensorList(info, 0), recvs = argTensorList(info, 2);
      std::vector<int64_t> to = argInts(info, 1), from = argInts(info, 3);
      if (sends.size() != to.size() || recvs.size() != from.size()) throw Napi::TypeError::New(info.Env(), "exchange: one peer rank per tensor");
      int tag = static_cast<int>(argInt(info, 4));
      for (auto* ts : {&sends, &recvs}) {
        for (auto& t : *ts) {
          if (!t.is_contiguous()) throw Napi::TypeError::New(info.Env(), "collectives need a contiguous tensor (call contiguous() first)");
        }
      }
      auto peer = [&](int64_t r) {
        if (r < 0 || r >= size_ || r == rank_) throw Napi::RangeError::New(info.Env(), "peer rank " + std::to_string(r) + " is not another rank of this group of " + std::to_string(size_));
        return static_cast<int>(r);
      };
      std::vector<std::pair<c10::intrusive_ptr<c10d::Work>, std::string>> works;
      for (size_t i = 0; i < sends.size(); ++i) {
        std::vector<at::Tensor> v{sends[i]};
        works.emplace_back(pg(info.Env()).send(v, peer(to[i]), tag), "send to rank " + std::to_string(to[i]));
      }
      for (size_t i = 0; i < recvs.size(); ++i) {
        std::vector<at::Tensor> v{recvs[i]};
        works.emplace_back(pg(info.Env()).recv(v, peer(from[i]), tag), "recv from rank " + std::to_string(from[i]));
      }
      for (auto& [work, what] : works) await(work, what);
      return info.Env().Undefined();
    });
  }
  // allreduce(tensor): in place, sum over ranks.
  Napi::Value Allreduce(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<at::Tensor> ts{argCpuTensor(info, 0)};
      c10d::AllreduceOptions o;
      o.reduceOp = c10d::ReduceOp::SUM;
      o.timeout = timeout_;
      await(pg(info.Env()).allreduce(ts, o), "allreduce");
      return info.Env().Undefined();
    });
  }
  // allgather(tensor) → one new tensor per rank, in rank order.
  Napi::Value Allgather(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<at::Tensor> in{argCpuTensor(info, 0)};
      std::vector<std::vector<at::Tensor>> out(1);
      for (int r = 0; r < size_; ++r) out[0].push_back(at::empty_like(in[0]));
      c10d::AllgatherOptions o;
      o.timeout = timeout_;
      await(pg(info.Env()).allgather(out, in, o), "allgather");
      return wrapList(info.Env(), out[0]);
    });
  }
  // broadcast(tensor, root): in place, root's values everywhere.
  Napi::Value Broadcast(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<at::Tensor> ts{argCpuTensor(info, 0)};
      int64_t root = argInt(info, 1);
      if (root < 0 || root >= size_) throw Napi::RangeError::New(info.Env(), "broadcast root must be in 0..size-1");
      c10d::BroadcastOptions o;
      o.rootRank = root;
      o.timeout = timeout_;
      await(pg(info.Env()).broadcast(ts, o), "broadcast from rank " + std::to_string(root));
      return info.Env().Undefined();
    });
  }
  Napi::Value Barrier(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      c10d::BarrierOptions o;
      o.timeout = timeout_;
      await(pg(info.Env()).barrier(o), "barrier");
      return info.Env().Undefined();
    });
  }
  Napi::Value Close(Info info) {
    pg_.reset();
    return info.Env().Undefined();
  }

  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
  int rank_ = 0, size_ = 1;
  Millis timeout_{60000};
};

}  // namespace

void initDist(Napi::Env env, Napi::Object exports) {
  exports.Set("StoreServer", StoreServerWrap::Init(env));
  exports.Set("Store", StoreWrap::Init(env));
  exports.Set("ProcessGroup", ProcessGroupWrap::Init(env));
}

}  // namespace flatdist
