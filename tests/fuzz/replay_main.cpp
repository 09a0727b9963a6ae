// A main() for fuzz targets built without libFuzzer: runs every file named on
// the command line, or found (recursively) in a directory named there,
// through LLVMFuzzerTestOneInput once. With ASan and UBSan this turns each
// seed corpus into a regression test that ctest runs with g++.
//
// Exits 0 when all inputs ran, 1 if none were found or one could not be read;
// a crash or a broken invariant aborts the process.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> collect_inputs(int argc, char** argv) {
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        const fs::path arg = argv[i];
        if (!fs::is_directory(arg)) {
            files.push_back(arg);
            continue;
        }
        for (const auto& entry : fs::recursive_directory_iterator(arg))
            if (entry.is_regular_file()) files.push_back(entry.path());
    }
    // A stable order makes a failing run easy to repeat.
    std::sort(files.begin(), files.end());
    return files;
}

bool run_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return false;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A copy in its own allocation, so ASan sees reads past the end.
    std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(data.data(), data.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const auto files = collect_inputs(argc, argv);
    if (files.empty()) {
        std::fprintf(stderr, "replay: no inputs given\n");
        return 1;
    }
    for (const auto& file : files) {
        if (!run_file(file)) return 1;
    }
    std::printf("replay: %zu inputs ran\n", files.size());
    return 0;
}
