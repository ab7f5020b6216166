// How a result store detects its own damage and never shows a half-built file: checks made before libhdf5 parses
// anything, checksums of the layout and of each chunk's data, dataset shapes against the layout, and creation under
// a hidden name that is renamed into place once set up. Private to host/io (used by hdf5_store.cpp).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hessa/result_store.hpp"

namespace hessa::store {

// Store format 2: HDF5 format bounds 1.8 (checksummed metadata), fixed-length strings, /checksum, layout_crc32.
constexpr std::uint32_t kFormat = 2;

// The file starts with an HDF5 superblock of version 2 (what libver bounds V18 write) with 8-byte offsets and
// lengths; anything else is refused before libhdf5 parses it, since older superblocks carry no checksum.
void check_superblock(const std::string& path);

// CRC-32 of what the root attributes and dataset shapes say (everything of StoreLayout), stored as `layout_crc32`.
std::uint32_t layout_checksum(const StoreLayout& layout);
// CRC-32 of one chunk's rows of every per-point dataset, concatenated in read_chunk_raw's order.
std::uint32_t chunk_checksum(const std::vector<std::vector<unsigned char>>& rows);

// What a dataset must be; check_dataset throws InputError naming `path` and the dataset when it is not, or when its
// contiguous storage is not wholly inside the file (so a lying shape cannot make a reader allocate or read past it).
struct ExpectedDataset {
  std::string name;
  std::vector<hsize_t> dims;
  H5T_class_t type_class;
  std::size_t type_size;
};
void check_dataset(const std::string& path, hid_t dataset, const ExpectedDataset& expected, std::uintmax_t file_size);
// The shape of a dataset (rank at most `max_rank`), checked to be readable.
std::vector<hsize_t> dataset_dims(const std::string& path, hid_t dataset, const std::string& name, int max_rank);

// Set-up under a hidden name: `.NAME.partial-HOST-PID` next to `path`. publish() fsyncs the file descriptor,
// renames the partial file to `path` unless that exists (then InputError), and fsyncs the directory.
std::string partial_path(const std::string& path);
// Removes partial files of `path` left by killed processes of this host (their PID no longer runs).
void remove_stale_partials(const std::string& path);
void publish(const std::string& partial, const std::string& path, int fd);

}  // namespace hessa::store
