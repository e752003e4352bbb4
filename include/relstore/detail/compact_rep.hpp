#pragma once
// The 16-byte representation shared by relstore::text and relstore::bytes:
// up to 15 bytes inline, longer values in a heap block of exactly their size.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

namespace relstore::detail {

/// An immutable sequence of bytes in 16 bytes: inline when it fits in 15, else
/// a pointer to a heap block of exactly its length (no capacity, no NUL, no
/// length prefix: the length is in the handle, so data() and size() never
/// touch the block). Copies allocate a block of their own, so a value never
/// depends on anything else living: rows copied out of a store, into the undo
/// log, or onto readers_never_wait's second copy are independent values, as
/// with std::string.
///
/// Layout: byte 15 is the tag. Inline, bytes 0..14 hold the value and the tag
/// is its length (0..15). On the heap, bytes 0..7 hold the pointer and bytes
/// 8..15 a 64-bit word whose byte at offset 15 is heap_tag and whose other 7
/// bytes hold the length (so at most 2^56 - 1 bytes).
class compact_rep {
public:
    static constexpr std::size_t inline_capacity = 15;
    static constexpr std::size_t max_size = (std::uint64_t{1} << 56) - 1;

    constexpr compact_rep() noexcept = default;

    /// Copies n bytes from p. @throws std::bad_alloc, std::length_error beyond max_size
    compact_rep(const void* p, std::size_t n) {
        if (n <= inline_capacity) {
            if (n != 0) std::memcpy(raw_, p, n);  // memcpy of a null p is undefined even for 0 bytes
            raw_[tag_at] = static_cast<unsigned char>(n);
        } else {
            if (n > max_size) throw std::length_error("relstore: a text or bytes value longer than 2^56 - 1 bytes");
            void* block = ::operator new(n);
            std::memcpy(block, p, n);
            set_heap(static_cast<const unsigned char*>(block), n);
        }
    }

    compact_rep(const compact_rep& o) : compact_rep(o.data(), o.size()) {}

    /// Takes o's value; o is left empty.
    compact_rep(compact_rep&& o) noexcept {
        std::memcpy(raw_, o.raw_, sizeof raw_);
        o.clear_raw();
    }

    compact_rep& operator=(const compact_rep& o) {
        if (this != &o) {
            compact_rep copy(o);  // may throw: this is unchanged then
            swap(copy);
        }
        return *this;
    }

    /// Takes o's value; o is left empty (self-move leaves the value as it was).
    compact_rep& operator=(compact_rep&& o) noexcept {
        if (this != &o) {
            release();
            std::memcpy(raw_, o.raw_, sizeof raw_);
            o.clear_raw();
        }
        return *this;
    }

    ~compact_rep() { release(); }

    void swap(compact_rep& o) noexcept {
        unsigned char t[sizeof raw_];
        std::memcpy(t, raw_, sizeof raw_);
        std::memcpy(raw_, o.raw_, sizeof raw_);
        std::memcpy(o.raw_, t, sizeof raw_);
    }

    [[nodiscard]] bool on_heap() const noexcept { return raw_[tag_at] == heap_tag; }

    [[nodiscard]] const unsigned char* data() const noexcept { return on_heap() ? heap_pointer() : raw_; }

    [[nodiscard]] std::size_t size() const noexcept {
        if (!on_heap()) return raw_[tag_at];
        std::uint64_t w;
        std::memcpy(&w, raw_ + 8, sizeof w);
        if constexpr (std::endian::native == std::endian::little)
            return static_cast<std::size_t>(w & max_size);  // the tag is the high byte
        else
            return static_cast<std::size_t>(w >> 8);  // the tag is the low byte
    }

private:
    static constexpr std::size_t tag_at = 15;
    static constexpr unsigned char heap_tag = 0x80;  // above any inline length

    [[nodiscard]] const unsigned char* heap_pointer() const noexcept {
        const unsigned char* p;
        std::memcpy(&p, raw_, sizeof p);
        return p;
    }

    void set_heap(const unsigned char* p, std::size_t n) noexcept {
        static_assert(sizeof p <= 8, "relstore::detail::compact_rep keeps a pointer in 8 bytes");
        std::memcpy(raw_, &p, sizeof p);
        const std::uint64_t n64 = n;
        const std::uint64_t w = std::endian::native == std::endian::little
                                    ? n64 | (std::uint64_t{heap_tag} << 56)
                                    : (n64 << 8) | heap_tag;
        std::memcpy(raw_ + 8, &w, sizeof w);
    }

    void release() noexcept {
        if (!on_heap()) return;
        void* p = const_cast<unsigned char*>(heap_pointer());
#if defined(__cpp_sized_deallocation)
        ::operator delete(p, size());  // the allocator need not look the size up
#else
        ::operator delete(p);  // clang before 19 leaves sized deallocation off by default
#endif
    }

    void clear_raw() noexcept { std::memset(raw_, 0, sizeof raw_); }

    alignas(8) unsigned char raw_[16]{};
};

static_assert(sizeof(compact_rep) == 16);

}  // namespace relstore::detail
