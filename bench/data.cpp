#include "data.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <unordered_set>

namespace bench {
namespace {

/// splitmix64: a fixed, portable generator, so the data set does not depend
/// on the standard library's distributions (which differ between vendors).
class rng {
public:
    explicit rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    /// Uniform in [lo, hi]; the modulo bias is below 2^-40 for these ranges.
    std::int64_t uniform(std::int64_t lo, std::int64_t hi) noexcept {
        return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
    }

private:
    std::uint64_t s_;
};

std::string text(rng& r, std::size_t min_len, std::size_t max_len) {
    static constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz     ABCDEFGHIJ0123456789";
    std::string s(static_cast<std::size_t>(r.uniform(static_cast<std::int64_t>(min_len),
                                                      static_cast<std::int64_t>(max_len))),
                  ' ');
    for (char& c : s) c = alphabet[r.next() % alphabet.size()];
    s.front() = 'T';
    return s;
}

std::size_t scaled(double base, double scale) {
    return std::max<std::size_t>(10, static_cast<std::size_t>(std::llround(base * scale)));
}

double g_scale = 1.0;
std::unique_ptr<dataset> g_data;

std::unique_ptr<dataset> build(double scale) {
    auto d = std::make_unique<dataset>();
    d->scale = scale;
    rng r(20261125);
    const std::size_t U = scaled(100'000, scale), P = scaled(1'000'000, scale), A = scaled(100'000, scale),
                      B = scaled(100'000, scale), L = scaled(300'000, scale);

    d->users.reserve(U);
    for (std::size_t i = 1; i <= U; ++i) {
        const auto id = static_cast<std::int64_t>(i);
        d->users.push_back({id, "user-" + std::to_string(id), "user-" + std::to_string(id) + "@example.com"});
    }
    d->posts.reserve(P);
    for (std::size_t i = 1; i <= P; ++i)
        d->posts.push_back({static_cast<std::int64_t>(i), r.uniform(1, static_cast<std::int64_t>(U)), text(r, 16, 48),
                            text(r, 56, 72)});
    d->authors.reserve(A);
    for (std::size_t i = 1; i <= A; ++i)
        d->authors.push_back({static_cast<std::int64_t>(i), "author-" + std::to_string(i)});
    d->books.reserve(B);
    for (std::size_t i = 1; i <= B; ++i) d->books.push_back({static_cast<std::int64_t>(i), text(r, 12, 40)});
    {
        std::unordered_set<std::uint64_t> seen;
        seen.reserve(L * 2);
        d->links.reserve(L);
        while (d->links.size() < L) {
            const auto a = r.uniform(1, static_cast<std::int64_t>(A)), b = r.uniform(1, static_cast<std::int64_t>(B));
            if (seen.insert(link_sum(a, b)).second) d->links.push_back({a, b});
        }
    }

    // Query streams: as many queries as rows in the table looked up, so the
    // timed loop walks the whole table rather than a cache-resident subset.
    const std::size_t Q = std::max<std::size_t>(batch * 4, U);
    auto fill = [&](std::vector<std::int64_t>& v, std::size_t n, std::size_t max) {
        v.reserve(n);
        for (std::size_t i = 0; i < n; ++i) v.push_back(r.uniform(1, static_cast<std::int64_t>(max)));
    };
    fill(d->user_keys, Q, U);
    fill(d->post_keys, Q, P);
    fill(d->author_keys, Q, A);
    fill(d->book_keys, Q, B);
    d->name_keys.reserve(Q);
    for (std::size_t i = 0; i < Q; ++i) d->name_keys.push_back("user-" + std::to_string(r.uniform(1, static_cast<std::int64_t>(U))));

    {
        // W8: distinct posts (a post twice in one window would make the restore
        // step order-dependent), each moving to a different author.
        std::vector<std::int64_t> ids(P);
        for (std::size_t i = 0; i < P; ++i) ids[i] = static_cast<std::int64_t>(i + 1);
        for (std::size_t i = P - 1; i > 0; --i) std::swap(ids[i], ids[static_cast<std::size_t>(r.uniform(0, static_cast<std::int64_t>(i)))]);
        const std::size_t C = std::min(P, std::max<std::size_t>(batch * 4, P / 10));
        d->changes.reserve(C);
        for (std::size_t i = 0; i < C; ++i) {
            const post_row& p = d->posts[static_cast<std::size_t>(ids[i] - 1)];
            std::int64_t to = r.uniform(1, static_cast<std::int64_t>(U));
            if (to == p.author_id) to = to % static_cast<std::int64_t>(U) + 1;
            d->changes.push_back({p.id, text(r, 16, 48), to, p.title, p.author_id});
        }
    }

    state full{};
    for (const auto& u : d->users) full.sum += user_sum(u.id, u.name, u.email);
    for (const auto& p : d->posts) full.sum += post_sum(p.id, p.author_id, p.title, p.content);
    for (const auto& a : d->authors) full.sum += author_sum(a.id, a.name);
    for (const auto& b : d->books) full.sum += book_sum(b.id, b.title);
    for (const auto& l : d->links) full.sum += link_sum(l.author_id, l.book_id);
    d->full = {U, P, A, B, L};
    d->full_checksum = full.sum;

    for (const auto& u : d->users) d->payload_bytes += 8 + u.name.size() + u.email.size();
    for (const auto& p : d->posts) d->payload_bytes += 16 + p.title.size() + p.content.size();
    for (const auto& a : d->authors) d->payload_bytes += 8 + a.name.size();
    for (const auto& b : d->books) d->payload_bytes += 8 + b.title.size();
    d->payload_bytes += 16 * d->links.size();

    {
        // W7: 10% of the users, distinct; the expected remainder is computed
        // here from the rows, independently of every peer.
        std::vector<std::int64_t> ids(U);
        for (std::size_t i = 0; i < U; ++i) ids[i] = static_cast<std::int64_t>(i + 1);
        for (std::size_t i = U - 1; i > 0; --i) std::swap(ids[i], ids[static_cast<std::size_t>(r.uniform(0, static_cast<std::int64_t>(i)))]);
        ids.resize(std::max<std::size_t>(1, U / 10));
        d->delete_users = ids;
        std::vector<char> gone(U + 1, 0);
        for (auto id : ids) gone[static_cast<std::size_t>(id)] = 1;
        state after = full;
        after.n = d->full;
        for (auto id : ids) {
            const user_row& u = d->users[static_cast<std::size_t>(id - 1)];
            after.sum -= user_sum(u.id, u.name, u.email);
            --after.n.users;
        }
        for (const auto& p : d->posts)
            if (gone[static_cast<std::size_t>(p.author_id)]) {
                after.sum -= post_sum(p.id, p.author_id, p.title, p.content);
                --after.n.posts;
            }
        d->after_delete = after.n;
        d->after_delete_checksum = after.sum;
    }
    return d;
}

}  // namespace

void set_scale(double scale) { g_scale = scale; }

const dataset& data() {
    if (!g_data) g_data = build(g_scale);
    return *g_data;
}

void drop_rows() {
    if (!g_data) return;
    // Swapped with empties, not cleared: clear() keeps the capacity.
    std::vector<user_row>().swap(g_data->users);
    std::vector<post_row>().swap(g_data->posts);
    std::vector<author_row>().swap(g_data->authors);
    std::vector<book_row>().swap(g_data->books);
    std::vector<link_row>().swap(g_data->links);
    std::vector<post_change>().swap(g_data->changes);
}

}  // namespace bench
