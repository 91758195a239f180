// SPDX-License-Identifier: MIT
// BusListener unit tests: the private directory (created 0700, or refused when others can enter
// it or it is not ours), the 0600 socket, live and stale sockets at the path, the SO_PEERCRED
// check, and the unlink on destruction. Each test works in its own mkdtemp directory.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "vmbkit/bus/bus_listener.h"

namespace vmb::bus {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info.st_mode;
}

class BusListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vmbkit-bus-listener-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    directory_ = root_ + "/bus";
    path_ = directory_ + "/socket";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(directory_.c_str());
    ::rmdir(root_.c_str());
  }
  std::string root_;
  std::string directory_;
  std::string path_;
};

TEST_F(BusListenerTest, CreatesAPrivateDirectoryAndASocketOnlyWeMayUse) {
  auto listener = BusListener::listen(path_);
  ASSERT_TRUE(listener.has_value()) << to_string(listener.status());
  EXPECT_TRUE(S_ISDIR(mode_of(directory_)));
  EXPECT_EQ(mode_of(directory_) & 07777, 0700u);
  EXPECT_TRUE(S_ISSOCK(mode_of(path_)));
  EXPECT_EQ(mode_of(path_) & 07777, 0600u);
}

TEST_F(BusListenerTest, AcceptsAConnectionFromOurOwnUser) {
  auto listener = BusListener::listen(path_);
  ASSERT_TRUE(listener.has_value());
  EXPECT_EQ(listener->accept().outcome, AcceptOutcome::kWouldBlock);
  auto client = BusSocket::connect(path_);
  ASSERT_TRUE(client.has_value());
  Accepted accepted = listener->accept();
  ASSERT_EQ(accepted.outcome, AcceptOutcome::kAccepted);
  EXPECT_EQ(accepted.credentials.uid, ::geteuid());
  EXPECT_EQ(accepted.credentials.pid, ::getpid());
  const std::vector<uint8_t> message = {3, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(client->send(message, {}, Deadline::immediate()).ok());
  std::vector<uint8_t> buffer(240);
  EXPECT_EQ(accepted.socket.receive(buffer).outcome, ReceiveOutcome::kMessage);
}

TEST_F(BusListenerTest, RefusesUsersNotAllowed) {
  BusListenerOptions options;
  options.allowed_users = {::geteuid() + 12345};
  auto listener = BusListener::listen(path_, options);
  ASSERT_TRUE(listener.has_value());
  auto client = BusSocket::connect(path_);
  ASSERT_TRUE(client.has_value());
  const Accepted accepted = listener->accept();
  EXPECT_EQ(accepted.outcome, AcceptOutcome::kRefused);
  EXPECT_EQ(accepted.credentials.uid, ::geteuid());
  ASSERT_TRUE(client->wait_readable(Deadline::after(std::chrono::seconds(10))));
  std::vector<uint8_t> buffer(240);
  EXPECT_EQ(client->receive(buffer).outcome, ReceiveOutcome::kClosed);
}

TEST_F(BusListenerTest, RefusesADirectoryOthersCanEnter) {
  ASSERT_EQ(::mkdir(directory_.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(directory_.c_str(), 0755), 0);
  EXPECT_EQ(BusListener::listen(path_).status(), Status{STATUS_ACCESS_DENIED});
  ASSERT_EQ(::chmod(directory_.c_str(), 0710), 0);
  EXPECT_EQ(BusListener::listen(path_).status(), Status{STATUS_ACCESS_DENIED});
  ASSERT_EQ(::chmod(directory_.c_str(), 0700), 0);
  EXPECT_TRUE(BusListener::listen(path_).has_value());
}

TEST_F(BusListenerTest, RefusesADirectoryOwnedBySomeoneElse) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  ASSERT_EQ(::mkdir(directory_.c_str(), 0700), 0);
  ASSERT_EQ(::chown(directory_.c_str(), 65534, 65534), 0);
  EXPECT_EQ(BusListener::listen(path_).status(), Status{STATUS_ACCESS_DENIED});
}

TEST_F(BusListenerTest, RefusesASymlinkInPlaceOfTheDirectory) {
  const std::string target = root_ + "/elsewhere";
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(target.c_str(), directory_.c_str()), 0);
  EXPECT_EQ(BusListener::listen(path_).status(), Status{STATUS_ACCESS_DENIED});
  ::unlink(directory_.c_str());
  ::rmdir(target.c_str());
}

TEST_F(BusListenerTest, RefusesAPathALiveServerHolds) {
  auto first = BusListener::listen(path_);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(BusListener::listen(path_).status(), Status{STATUS_OBJECT_NAME_COLLISION});
  EXPECT_TRUE(S_ISSOCK(mode_of(path_)));  // the live server's socket is untouched
}

TEST_F(BusListenerTest, ReplacesAStaleSocket) {
  ASSERT_EQ(::mkdir(directory_.c_str(), 0700), 0);
  {
    // A server that died without unlinking: bound, then closed.
    UniqueFd stale(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  }
  auto listener = BusListener::listen(path_);
  ASSERT_TRUE(listener.has_value()) << to_string(listener.status());
  EXPECT_TRUE(BusSocket::connect(path_).has_value());
}

TEST_F(BusListenerTest, RefusesAFileThatIsNotASocket) {
  ASSERT_EQ(::mkdir(directory_.c_str(), 0700), 0);
  std::ofstream(path_) << "not a socket";
  EXPECT_EQ(BusListener::listen(path_).status(), Status{STATUS_OBJECT_NAME_COLLISION});
}

TEST_F(BusListenerTest, UnlinksItsSocketWhenDestroyed) {
  { ASSERT_TRUE(BusListener::listen(path_).has_value()); }
  struct stat info {};
  EXPECT_NE(::lstat(path_.c_str(), &info), 0);
  EXPECT_EQ(BusSocket::connect(path_).status(), Status{STATUS_CONNECTION_REFUSED});
}

TEST_F(BusListenerTest, RefusesPathsWithoutADirectoryOrTooLong) {
  EXPECT_EQ(BusListener::listen("socket").status(), Status{STATUS_INVALID_PARAMETER});
  EXPECT_EQ(BusListener::listen(directory_ + "/").status(), Status{STATUS_INVALID_PARAMETER});
  EXPECT_EQ(BusListener::listen(directory_ + "/" + std::string(200, 'x')).status(),
            Status{STATUS_INVALID_PARAMETER});
}

}  // namespace
}  // namespace vmb::bus
