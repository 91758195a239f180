// SPDX-License-Identifier: MIT
// BusListener: the private directory, the 0600 listening socket, stale-socket replacement,
// accept() with the SO_PEERCRED check, and the unlink on destruction.
#include "vmbkit/bus/bus_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace vmb::bus {
namespace {

// The directory must be ours and closed to everybody else: the socket's 0600 alone would not
// stop another user from replacing it while we are not listening.
Status make_private_directory(const std::string& directory) {
  if (::mkdir(directory.c_str(), 0700) == 0) {
    // mkdir applied the umask, which can only have removed bits; make it exactly 0700.
    return ::chmod(directory.c_str(), 0700) == 0 ? Status{} : Status{STATUS_ACCESS_DENIED};
  }
  if (errno != EEXIST) {
    return errno == EACCES || errno == EPERM ? Status{STATUS_ACCESS_DENIED}
                                             : Status{STATUS_INVALID_PARAMETER};
  }
  struct stat info {};
  if (::lstat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) ||
      info.st_uid != ::geteuid() || (info.st_mode & 077) != 0) {
    return Status{STATUS_ACCESS_DENIED};
  }
  return Status{};
}

// Removes a socket file nobody listens on any more; refuses to touch anything else.
Status clear_stale_socket(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return Status{};  // nothing there
  if (!S_ISSOCK(info.st_mode)) return Status{STATUS_OBJECT_NAME_COLLISION};
  auto probe = BusSocket::connect(path);
  if (probe.has_value()) return Status{STATUS_OBJECT_NAME_COLLISION};  // a live server
  if (probe.status() != Status{STATUS_CONNECTION_REFUSED}) return probe.status();
  return ::unlink(path.c_str()) == 0 || errno == ENOENT ? Status{} : Status{STATUS_ACCESS_DENIED};
}

}  // namespace

Result<BusListener> BusListener::listen(const std::string& path, BusListenerOptions options) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const size_t slash = path.rfind('/');
  if (path.empty() || path.size() >= sizeof(address.sun_path) || slash == std::string::npos ||
      slash + 1 == path.size()) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const std::string directory = slash == 0 ? "/" : path.substr(0, slash);
  if (Status status = make_private_directory(directory); !status.ok()) return status;
  if (Status status = clear_stale_socket(path); !status.ok()) return status;

  BusListener listener;
  listener.fd_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener.fd_) return Status{STATUS_INSUFFICIENT_RESOURCES};
  // Linux creates the socket file with the socket inode's mode (minus the umask), so the file
  // is 0600 from its first moment; the chmod after bind covers kernels that do not.
  ::fchmod(listener.fd_.get(), 0600);
  // Safety: sockaddr_un is the sockaddr variant bind() expects for AF_UNIX.
  if (::bind(listener.fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) !=
      0) {
    return errno == EADDRINUSE ? Status{STATUS_OBJECT_NAME_COLLISION}
                               : Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  listener.path_ = path;
  struct stat info {};
  if (::chmod(path.c_str(), 0600) != 0 || ::lstat(path.c_str(), &info) != 0) {
    return Status{STATUS_ACCESS_DENIED};  // the destructor unlinks what was bound
  }
  listener.device_ = info.st_dev;
  listener.inode_ = info.st_ino;
  if (::listen(listener.fd_.get(), options.backlog) != 0) {
    return Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  listener.allowed_users_ = std::move(options.allowed_users);
  if (listener.allowed_users_.empty()) listener.allowed_users_.push_back(::geteuid());
  return listener;
}

BusListener::BusListener(BusListener&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::exchange(other.path_, {})),
      device_(other.device_),
      inode_(other.inode_),
      allowed_users_(std::move(other.allowed_users_)) {}

BusListener& BusListener::operator=(BusListener&& other) noexcept {
  if (this != &other) {
    unlink_socket();
    fd_ = std::move(other.fd_);
    path_ = std::exchange(other.path_, {});
    device_ = other.device_;
    inode_ = other.inode_;
    allowed_users_ = std::move(other.allowed_users_);
  }
  return *this;
}

BusListener::~BusListener() { unlink_socket(); }

void BusListener::unlink_socket() {
  if (path_.empty()) return;
  // Only our own file: a successor server may have replaced it already.
  struct stat info {};
  if (::lstat(path_.c_str(), &info) == 0 && info.st_dev == device_ && info.st_ino == inode_) {
    ::unlink(path_.c_str());
  }
  path_.clear();
}

Accepted BusListener::accept() {
  Accepted accepted;
  int fd = -1;
  do {
    fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    // ECONNABORTED: the peer left the queue already. EMFILE and friends: try again later.
    accepted.outcome = errno == EBADF || errno == EINVAL || errno == ENOTSOCK
                           ? AcceptOutcome::kFailed
                           : AcceptOutcome::kWouldBlock;
    return accepted;
  }
  BusSocket socket{UniqueFd(fd)};
  const auto credentials = socket.peer_credentials();
  if (credentials.has_value()) accepted.credentials = *credentials;
  if (!credentials.has_value() || std::find(allowed_users_.begin(), allowed_users_.end(),
                                            credentials->uid) == allowed_users_.end()) {
    accepted.outcome = AcceptOutcome::kRefused;  // `socket` closes here
    return accepted;
  }
  accepted.outcome = AcceptOutcome::kAccepted;
  accepted.socket = std::move(socket);
  return accepted;
}

}  // namespace vmb::bus
