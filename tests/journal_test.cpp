// The run journal (host/run/journal.*): checksummed header and records, so a damaged journal is
// never read back as scores: on --resume the damaged record and everything after it are scored
// again (end to end with `backscore run`: output_safety_test.cpp).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/run/journal.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::TempDir;

constexpr std::size_t kFormulas = 2;

EraScores era_scores(std::uint64_t era, std::vector<std::int32_t> models) {
  EraScores e;
  e.era = era;
  e.scores.resize(models.size() * kFormulas);
  for (std::size_t k = 0; k < e.scores.size(); ++k) {
    e.scores[k] = 0.001 * static_cast<double>(era * 100 + k) - 0.02;
  }
  e.models = std::move(models);
  return e;
}

// Eras 0..3; era 1 has no models (a journal write of it once passed fwrite a null pointer).
std::vector<EraScores> sample() {
  return {era_scores(0, {0, 3, 4}), era_scores(1, {}), era_scores(2, {1}),
          era_scores(3, {0, 1, 2, 5})};
}

void write_sample(const fs::path& path) {
  JournalWriter w(path, "job", kFormulas, false);
  for (const EraScores& e : sample()) w.append(e);
  w.close();
}

std::vector<EraScores> read_back(const fs::path& path) {
  std::vector<EraScores> out;
  const std::vector<std::size_t> eras = {0, 1, 2, 3};
  read_journal(path, "job", kFormulas, eras, [&](const EraScores& e) { out.push_back(e); });
  return out;
}

// back holds sample()'s records, in sample()'s order.
void expect_sample(const std::vector<EraScores>& back) {
  ASSERT_EQ(back.size(), sample().size());
  for (std::size_t k = 0; k < back.size(); ++k) {
    EXPECT_EQ(back[k].era, sample()[k].era);
    EXPECT_EQ(back[k].models, sample()[k].models);
    EXPECT_EQ(back[k].scores, sample()[k].scores);
  }
}

TEST(Journal, RoundTripIncludingAnEraWithoutModels) {
  TempDir dir;
  write_sample(dir / "j");
  const std::vector<EraScores> back = read_back(dir / "j");
  expect_sample(back);
  JournalWriter resumed(dir / "j", "job", kFormulas, true);
  EXPECT_EQ(resumed.finished_eras(), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(resumed.damage(), "");
}

// An era-sharded run appends eras as its ranks finish them: they are read back in the order the
// outputs want, and a resume knows every one of them.
TEST(Journal, RecordsAppendedOutOfOrderAreReadInTheOrderAsked) {
  TempDir dir;
  {
    JournalWriter w(dir / "j", "job", kFormulas, false);
    for (const std::size_t k : {2u, 0u, 3u, 1u}) w.append(sample()[k]);
    w.close();
  }
  const std::vector<EraScores> back = read_back(dir / "j");
  expect_sample(back);
  std::vector<std::uint64_t> order;
  const std::vector<std::size_t> some = {3, 1};
  read_journal(dir / "j", "job", kFormulas, std::vector<std::size_t>{0, 1, 2, 3},
               [&](const EraScores& e) { order.push_back(e.era); });
  EXPECT_EQ(order, (std::vector<std::uint64_t>{0, 1, 2, 3}));
  // An era asked for that has no record, or a record of an era not asked for: a bug.
  EXPECT_THROW(read_journal(dir / "j", "job", kFormulas, some, [](const EraScores&) {}),
               std::logic_error);
  EXPECT_THROW(read_journal(dir / "j", "job", kFormulas, std::vector<std::size_t>{0, 1, 2, 3, 4},
                            [](const EraScores&) {}),
               std::logic_error);
  JournalWriter resumed(dir / "j", "job", kFormulas, true);
  EXPECT_EQ(resumed.finished_eras(), (std::vector<std::uint64_t>{2, 0, 3, 1}));
}

// The bytes a rank sends are the journal's record: decoded back exactly, and refused when a
// byte changes or the length is wrong.
TEST(Journal, EncodedRecordsDecodeExactlyAndRefuseDamage) {
  for (const EraScores& e : sample()) {
    const std::vector<unsigned char> bytes = encode_era_scores(e, kFormulas);
    const EraScores back = decode_era_scores(bytes, kFormulas);
    EXPECT_EQ(back.era, e.era);
    EXPECT_EQ(back.models, e.models);
    EXPECT_EQ(back.scores, e.scores);
    for (std::size_t byte = 0; byte < bytes.size(); ++byte) {
      std::vector<unsigned char> damaged = bytes;
      damaged[byte] ^= 0x10;
      EXPECT_THROW(decode_era_scores(damaged, kFormulas), std::invalid_argument) << byte;
    }
    std::vector<unsigned char> longer = bytes;
    longer.push_back(0);
    EXPECT_THROW(decode_era_scores(longer, kFormulas), std::invalid_argument);
    EXPECT_THROW(decode_era_scores(std::span(bytes).first(bytes.size() - 1), kFormulas),
                 std::invalid_argument);
    if (!e.models.empty()) {  // another formula count does not fit the length
      EXPECT_THROW(decode_era_scores(bytes, kFormulas + 1), std::invalid_argument);
    }
  }
  EraScores mismatched = sample()[0];
  mismatched.scores.pop_back();
  EXPECT_THROW(encode_era_scores(mismatched, kFormulas), std::logic_error);
}

// A flipped bit anywhere in a record: on resume that record and all after it are dropped (and
// the file cut there), and reading the journal back refuses it.
TEST(Journal, EveryDamagedRecordIsDroppedWithWhatFollows) {
  TempDir dir;
  write_sample(dir / "clean");
  const std::string clean = read_file(dir / "clean");
  const std::vector<std::size_t> at = testing::journal_records(clean, kFormulas);
  ASSERT_EQ(at.size(), 5u);
  ASSERT_EQ(at.back(), clean.size());
  for (std::size_t record = 0; record < 4; ++record) {
    for (std::size_t byte = at[record]; byte < at[record + 1]; ++byte) {
      std::string damaged = clean;
      damaged[byte] = static_cast<char>(damaged[byte] ^ 0x10);
      testing::write_file(dir / "j", damaged);
      EXPECT_THROW(read_back(dir / "j"), InputError) << byte;
      JournalWriter w(dir / "j", "job", kFormulas, true);
      std::vector<std::uint64_t> expected;
      for (std::uint64_t e = 0; e < record; ++e) expected.push_back(e);
      EXPECT_EQ(w.finished_eras(), expected) << "record " << record << " byte " << byte;
      EXPECT_NE(w.damage(), "") << byte;
      w.close();
      EXPECT_EQ(fs::file_size(dir / "j"), at[record]);
    }
  }
}

// A record cut short (the killed run was writing it) is dropped; appending continues after the
// last whole record.
TEST(Journal, TornLastRecordIsDroppedAndTheJournalContinues) {
  TempDir dir;
  write_sample(dir / "j");
  fs::resize_file(dir / "j", fs::file_size(dir / "j") - 5);
  {
    JournalWriter w(dir / "j", "job", kFormulas, true);
    EXPECT_EQ(w.finished_eras(), (std::vector<std::uint64_t>{0, 1, 2}));
    EXPECT_NE(w.damage().find("journal record 4 is incomplete"), std::string::npos) << w.damage();
    w.append(sample()[3]);
    w.close();
  }
  EXPECT_EQ(read_back(dir / "j").size(), 4u);
  const std::string bytes = read_file(dir / "j");
  EXPECT_EQ(bytes.size(), testing::journal_records(bytes, kFormulas).back());
}

// A damaged header, another job's journal or no journal: refused, the file left as it is.
TEST(Journal, ResumeRefusesADamagedHeaderAndLeavesIt) {
  TempDir dir;
  write_sample(dir / "clean");
  const std::string clean = read_file(dir / "clean");
  for (std::size_t byte = 0; byte < testing::journal_records(clean, kFormulas).front(); ++byte) {
    std::string damaged = clean;
    damaged[byte] = static_cast<char>(damaged[byte] ^ 0x01);
    testing::write_file(dir / "j", damaged);
    EXPECT_THROW(JournalWriter(dir / "j", "job", kFormulas, true), InputError) << byte;
    EXPECT_EQ(read_file(dir / "j"), damaged);
  }
  try {
    JournalWriter(dir / "clean", "another job", kFormulas, true);
    ADD_FAILURE() << "resumed another job's journal";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to another job"), std::string::npos);
  }
  EXPECT_THROW(JournalWriter(dir / "none", "job", kFormulas, true), InputError);
}

TEST(Journal, ChecksumSeesEveryWordAndTheLength) {
  std::vector<unsigned char> bytes(40, 7);
  const std::uint64_t base = journal_checksum(bytes);
  for (std::size_t k = 0; k < bytes.size(); ++k) {
    bytes[k] ^= 0x80;
    EXPECT_NE(journal_checksum(bytes), base) << k;
    bytes[k] ^= 0x80;
  }
  bytes.push_back(0);
  EXPECT_NE(journal_checksum(bytes), base);
}

}  // namespace
}  // namespace backscore
