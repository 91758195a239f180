// SPDX-License-Identifier: MIT
// BusSocket unit tests: one message per datagram, descriptor passing in order, and one test per
// framing refusal (oversized datagram, too many descriptors, truncated ancillary data), plus
// peer loss, full buffers with deadlines and waking a blocked wait by shutdown.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "vmbkit/bus/bus_socket.h"

namespace vmb::bus {
namespace {

using namespace std::chrono_literals;

size_t open_descriptor_count() {
  size_t count = 0;
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return 0;
  while (::readdir(directory) != nullptr) ++count;
  ::closedir(directory);
  return count;
}

ino_t inode_of(int fd) {
  struct stat info {};
  EXPECT_EQ(::fstat(fd, &info), 0);
  return info.st_ino;
}

// Sends `fds` raw, bypassing BusSocket's own limits (what a hostile peer can do).
void raw_send(int socket, std::span<const uint8_t> bytes, const std::vector<int>& fds) {
  iovec part{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr header{};
  header.msg_iov = &part;
  header.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    header.msg_control = control.data();
    header.msg_controllen = control.size();
    cmsghdr* rights = CMSG_FIRSTHDR(&header);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(rights), fds.data(), sizeof(int) * fds.size());
  }
  ASSERT_GE(::sendmsg(socket, &header, MSG_NOSIGNAL), 0) << std::strerror(errno);
}

class BusSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = BusSocket::pair();
    ASSERT_TRUE(pair.has_value());
    left_ = std::move(pair->first);
    right_ = std::move(pair->second);
  }
  BusSocket left_;
  BusSocket right_;
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(wire::kMaximumChannelMessageSize);
};

TEST_F(BusSocketTest, CarriesOneMessagePerDatagram) {
  const std::vector<uint8_t> first = {3, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> second(240, 0xAB);
  ASSERT_TRUE(left_.send(first, {}, Deadline::immediate()).ok());
  ASSERT_TRUE(left_.send(second, {}, Deadline::immediate()).ok());
  Received received = right_.receive(buffer_);
  ASSERT_EQ(received.outcome, ReceiveOutcome::kMessage);
  EXPECT_EQ(received.size, 8u);
  received = right_.receive(buffer_);
  ASSERT_EQ(received.outcome, ReceiveOutcome::kMessage);
  EXPECT_EQ(received.size, 240u);
  EXPECT_EQ(buffer_[239], 0xAB);
  EXPECT_EQ(right_.receive(buffer_).outcome, ReceiveOutcome::kWouldBlock);
}

TEST_F(BusSocketTest, PassesDescriptorsInOrder) {
  UniqueFd first(::eventfd(0, EFD_CLOEXEC));
  UniqueFd second(::eventfd(0, EFD_CLOEXEC));
  const int fds[] = {first.get(), second.get()};
  const std::vector<uint8_t> message(148, 0);
  ASSERT_TRUE(left_.send(message, fds, Deadline::immediate()).ok());
  Received received = right_.receive(buffer_);
  ASSERT_EQ(received.outcome, ReceiveOutcome::kMessage);
  ASSERT_EQ(received.fds.size(), 2u);
  EXPECT_EQ(inode_of(received.fds.get(0)), inode_of(first.get()));
  EXPECT_EQ(inode_of(received.fds.get(1)), inode_of(second.get()));
  EXPECT_NE(received.fds.get(0), first.get());  // the kernel installed new descriptors
}

TEST_F(BusSocketTest, RefusesToSendWhatNoMessageMayBe) {
  const std::vector<uint8_t> too_long(241, 0);
  EXPECT_EQ(left_.send(too_long, {}, Deadline::immediate()), Status{STATUS_INVALID_PARAMETER});
  EXPECT_EQ(left_.send({}, {}, Deadline::immediate()), Status{STATUS_INVALID_PARAMETER});
  const int three[] = {0, 1, 2};
  const std::vector<uint8_t> message(8, 0);
  EXPECT_EQ(left_.send(message, three, Deadline::immediate()), Status{STATUS_INVALID_PARAMETER});
}

TEST_F(BusSocketTest, AnOversizedDatagramIsMalformed) {
  const std::vector<uint8_t> too_long(300, 1);
  raw_send(left_.fd(), too_long, {});
  const Received received = right_.receive(buffer_);
  EXPECT_EQ(received.outcome, ReceiveOutcome::kMalformed);
  EXPECT_NE(received.why.find("240"), std::string::npos);
}

TEST_F(BusSocketTest, TooManyDescriptorsAreMalformedAndClosed) {
  UniqueFd extra(::eventfd(0, EFD_CLOEXEC));
  const size_t before = open_descriptor_count();
  const std::vector<uint8_t> message(8, 0);
  raw_send(left_.fd(), message, {extra.get(), extra.get(), extra.get()});
  const Received received = right_.receive(buffer_);
  EXPECT_EQ(received.outcome, ReceiveOutcome::kMalformed);
  EXPECT_TRUE(received.fds.empty());
  EXPECT_EQ(open_descriptor_count(), before);
}

TEST_F(BusSocketTest, TruncatedAncillaryDataIsMalformedAndLeaksNothing) {
  UniqueFd extra(::eventfd(0, EFD_CLOEXEC));
  const size_t before = open_descriptor_count();
  const std::vector<uint8_t> message(8, 0);
  raw_send(left_.fd(), message, std::vector<int>(16, extra.get()));
  const Received received = right_.receive(buffer_);
  EXPECT_EQ(received.outcome, ReceiveOutcome::kMalformed);
  EXPECT_EQ(open_descriptor_count(), before);
}

TEST_F(BusSocketTest, ThePeersCloseIsSeen) {
  left_ = BusSocket();
  EXPECT_EQ(right_.receive(buffer_).outcome, ReceiveOutcome::kClosed);
  const std::vector<uint8_t> message(8, 0);
  EXPECT_EQ(right_.send(message, {}, Deadline::immediate()), Status{STATUS_DEVICE_REMOVED});
}

TEST_F(BusSocketTest, SendingIntoAFullSocketEndsAtTheDeadline) {
  const std::vector<uint8_t> message(240, 0);
  Status status;
  for (int i = 0; i < 1'000'000 && status.ok(); ++i) {
    status = left_.send(message, {}, Deadline::immediate());
  }
  ASSERT_EQ(status, Status{STATUS_TIMEOUT});
  EXPECT_EQ(left_.send(message, {}, Deadline::after(20ms)), Status{STATUS_TIMEOUT});
  // Draining one datagram makes room again.
  ASSERT_EQ(right_.receive(buffer_).outcome, ReceiveOutcome::kMessage);
  EXPECT_TRUE(left_.send(message, {}, Deadline::after(10s)).ok());
}

TEST_F(BusSocketTest, ShutdownWakesABlockedWait) {
  std::thread waiter([this] { EXPECT_TRUE(right_.wait_readable(Deadline::infinite())); });
  right_.shutdown();
  waiter.join();
  EXPECT_EQ(right_.receive(buffer_).outcome, ReceiveOutcome::kClosed);
  EXPECT_EQ(left_.receive(buffer_).outcome, ReceiveOutcome::kClosed);
}

TEST_F(BusSocketTest, WaitReadableEndsAtItsDeadline) {
  EXPECT_FALSE(right_.wait_readable(Deadline::immediate()));
  EXPECT_FALSE(right_.wait_readable(Deadline::after(5ms)));
  const std::vector<uint8_t> message(8, 0);
  ASSERT_TRUE(left_.send(message, {}, Deadline::immediate()).ok());
  EXPECT_TRUE(right_.wait_readable(Deadline::after(10s)));
}

TEST_F(BusSocketTest, ReportsThePeersCredentials) {
  const auto credentials = right_.peer_credentials();
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->uid, ::geteuid());
  EXPECT_EQ(credentials->pid, ::getpid());
}

}  // namespace
}  // namespace vmb::bus
