// c10d through the binding: the rendezvous store and Gloo process groups that
// torch.distributed uses on CPUs, so flatdist processes and PyTorch processes can
// share one group. The store client is libtorch's c10d::TCPStore; the store server
// is ours (store.h says why). This file only binds them.
//
// libtorch-dev builds c10d with Gloo; its header hides the class without this.
#define USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstring>
#include <thread>

#include "compat.h"
#include "store.h"
#include "tensor.h"

namespace flatdist {

namespace {

using Info = const Napi::CallbackInfo&;
using Bytes = std::vector<uint8_t>;
using Millis = std::chrono::milliseconds;

// ---------------------------------------------------------------------------
// Store server

class StoreServerWrap : public Napi::ObjectWrap<StoreServerWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "StoreServer",
                       {InstanceAccessor("port", &StoreServerWrap::Port, nullptr), InstanceMethod("close", &StoreServerWrap::Close)});
  }

  // new StoreServer(host, port, alivePrefix, gonePrefix): listens on host:port (port 0 picks a free one).
  explicit StoreServerWrap(Info info) : Napi::ObjectWrap<StoreServerWrap>(info) {
    guarded(info, [&]() -> Napi::Value {
      int64_t port = argInt(info, 1);
      if (port < 0 || port > 65535) throw Napi::RangeError::New(info.Env(), "store port must be in 0..65535");
      server_ = std::make_unique<StoreServer>(argString(info, 0), static_cast<uint16_t>(port), argString(info, 2), argString(info, 3));
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
#if FLATDIST_TORCH_AT_LEAST(2, 4)
      // 2.4 made libuv the default; Debian's libtorch is built without it, and the server is store.cc either way.
      opts.useLibUV = false;
#endif
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
  // What torch.distributed.init_process_group(backend='gloo', store=...) of the same
  // version as this libtorch does for its default group, key for key, so PyTorch
  // processes can take ranks (Debian ships the two alike: 1.13 in 12, 2.6 in 13). The
  // group is named "0"; 1.13 rendezvouses under the prefix "0/", then all ranks meet at
  // a store-based barrier; 2.0 gave each device its backend, under "0//cpu//", and 2.1
  // dropped the barrier (only TORCH_DIST_INIT_BARRIER=1 brings it back). Rank 0 then
  // hands out the group's sequence number.
  void join(const c10::intrusive_ptr<c10d::TCPStore>& store, const c10::intrusive_ptr<c10d::ProcessGroupGloo::Options>& opts) {
#if FLATDIST_TORCH_AT_LEAST(2, 0)
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("cpu/", c10::make_intrusive<c10d::PrefixStore>("0/", store));
#else
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("0", store);
#endif
    pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank_, size_, opts);
#if !FLATDIST_TORCH_AT_LEAST(2, 1)
    const std::string barrier = "store_based_barrier_key:1";
    store->add(barrier, 1);
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (store->add(barrier, 0) < size_) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("timed out after " + std::to_string(timeout_.count()) + " ms in the store-based barrier that ends the rendezvous");
      }
      std::this_thread::sleep_for(Millis(10));
    }
#endif
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
