// Referential actions on erase (cascade, set null, restrict), the dry run,
// rollback of all of it, and one-to-one relationships.
#include <catch2/catch.hpp>

#include "expect.hpp"
#include "schemas.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace integrity_test {

using namespace rel;

namespace {

// naruto: posts p1 (2 comments), p2 (1 comment), a profile; edits sasuke's post.
// sasuke: post p3 (1 comment), an invoice (restricts erasing sasuke).
struct fixture {
    blog db;
    std::int64_t naruto = 0, sasuke = 0, p1 = 0, p2 = 0, p3 = 0;

    fixture() {
        auto tx = db.write();
        naruto = tx.insert(User{.name = "naruto"}).id;
        sasuke = tx.insert(User{.name = "sasuke"}).id;
        p1 = tx.insert(Post{.title = "p1", .author_id = naruto}).id;
        p2 = tx.insert(Post{.title = "p2", .author_id = naruto}).id;
        p3 = tx.insert(Post{.title = "p3", .author_id = sasuke, .editor_id = naruto}).id;
        tx.insert(Comment{.post_id = p1, .text = "c1"});
        tx.insert(Comment{.post_id = p1, .text = "c2"});
        tx.insert(Comment{.post_id = p2, .text = "c3"});
        tx.insert(Comment{.post_id = p3, .text = "c4"});
        tx.insert(Profile{.user_id = naruto, .bio = "hokage"});
        tx.insert(Invoice{.user_id = sasuke, .cents = 500});
        tx.commit();
    }

    template <class Tx>
    std::vector<std::size_t> counts(const Tx& q) const {
        return {q.template count<users>(), q.template count<posts>(), q.template count<comments>(),
                q.template count<profiles>(), q.template count<invoices>()};
    }
};

template <class Rows>
std::vector<std::string> comment_texts(const Rows& rows) {
    std::vector<std::string> out;
    for (const Comment* c : rows) out.push_back(c->text);
    return out;
}

}  // namespace

TEST_CASE("erasing a user cascades to its posts, their comments and its profile", "[relationship][delete]") {
    fixture f;
    auto tx = f.db.write();
    const User& naruto = tx.get<users>(f.naruto);

    // naruto + 2 posts + 3 comments + 1 profile
    CHECK(tx.erase(naruto) == 7);
    CHECK(f.counts(tx) == std::vector<std::size_t>{1, 1, 1, 0, 1});
    CHECK(tx.all<posts>().first()->title == "p3");
    CHECK(tx.all<comments>().first()->text == "c4");
    // set null: naruto edited p3, which stays with no editor.
    CHECK(tx.get<posts>(f.p3).editor_id == std::nullopt);
    CHECK(tx.parent<&Post::editor_id>(tx.get<posts>(f.p3)) == nullptr);
    tx.commit();

    CHECK(f.counts(f.db.read()) == std::vector<std::size_t>{1, 1, 1, 0, 1});
}

TEST_CASE("erasing a row that restricting rows reference fails, names them, and changes nothing",
          "[relationship][delete][restrict]") {
    fixture f;
    auto tx = f.db.write();
    const auto before = f.counts(tx);
    const User& sasuke = tx.get<users>(f.sasuke);

    auto e = constraint_error_from([&] { tx.erase(sasuke); });
    CHECK(e.code() == relstore::make_error_code(relstore::errc::restrict_violation));
    CHECK(e.table() == "invoices");
    CHECK(e.columns() == "id");
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("erase restricted: 1 row(s) of invoices reference the rows erased (invoices.id = 1)"));

    // Nothing changed: not the user, not the posts and comments the cascade would have erased.
    CHECK(f.counts(tx) == before);
    CHECK(tx.count_children<&Post::author_id>(sasuke) == 1);
    CHECK(tx.get<posts>(f.p3).editor_id == f.naruto);

    // Once the invoice goes, the erase goes through; the transaction was still usable.
    tx.erase<invoices>(std::int64_t{1});
    CHECK(tx.erase(sasuke) == 3);  // sasuke, p3, c4
}

TEST_CASE("the restrict message lists at most five blocking rows", "[relationship][delete][restrict]") {
    fixture f;
    auto tx = f.db.write();
    for (int i = 0; i < 6; ++i) tx.insert(Invoice{.user_id = f.sasuke, .cents = i});
    auto e = constraint_error_from([&] { tx.erase<users>(f.sasuke); });
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("erase restricted: 7 row(s) of invoices reference the rows erased (invoices.id = 1, 2, 3, 4, 5, ...)"));
}

TEST_CASE("a dry run reports what an erase would do without doing it", "[relationship][delete][dry-run]") {
    fixture f;
    auto q = f.db.read();

    SECTION("an allowed erase") {
        auto plan = q.plan_erase(q.get<users>(f.naruto));
        CHECK(plan.allowed());
        CHECK(plan.erased_count() == 7);
        CHECK(plan.nulled_count() == 1);
        REQUIRE(plan.erased<users>().size() == 1);
        CHECK(plan.erased<users>()[0]->name == "naruto");
        // Children come in the foreign key's index order (child key order).
        REQUIRE(plan.erased<posts>().size() == 2);
        CHECK(plan.erased<posts>()[0]->title == "p1");
        CHECK(plan.erased<posts>()[1]->title == "p2");
        auto texts = comment_texts(plan.erased<comments>());
        std::sort(texts.begin(), texts.end());
        CHECK(texts == std::vector<std::string>{"c1", "c2", "c3"});
        CHECK(plan.erased<profiles>().size() == 1);
        REQUIRE(plan.nulled<posts>().size() == 1);
        CHECK(plan.nulled<posts>()[0]->title == "p3");
        CHECK(plan.blocking<invoices>().empty());
    }
    SECTION("a blocked erase") {
        auto plan = q.plan_erase(q.get<users>(f.sasuke));
        CHECK_FALSE(plan.allowed());
        REQUIRE(plan.blocking<invoices>().size() == 1);
        CHECK(plan.blocking<invoices>()[0]->cents == 500);
        CHECK(plan.erased<posts>().size() == 1);
    }
    // Nothing was removed.
    CHECK(f.counts(q) == std::vector<std::size_t>{2, 3, 4, 1, 1});
}

TEST_CASE("a plan made in a transaction is applied by apply()", "[relationship][delete][dry-run]") {
    fixture f;
    auto tx = f.db.write();
    auto plan = tx.plan_erase(tx.get<posts>(f.p1));
    CHECK(plan.erased_count() == 3);
    CHECK(tx.count<comments>() == 4);
    CHECK(tx.apply(plan) == 3);
    CHECK(tx.count<comments>() == 2);

    auto blocked = tx.plan_erase(tx.get<users>(f.sasuke));
    auto e = constraint_error_from([&] { tx.apply(blocked); });
    CHECK(e.code() == relstore::make_error_code(relstore::errc::restrict_violation));
    CHECK(tx.count<users>() == 2);
}

TEST_CASE("rollback undoes a cascade, set null and the links it erased", "[relationship][delete][rollback]") {
    fixture f;
    const auto before = f.counts(f.db.read());

    SECTION("the whole transaction") {
        auto tx = f.db.write();
        tx.erase<users>(f.naruto);
        tx.rollback();
    }
    SECTION("a savepoint") {
        auto tx = f.db.write();
        {
            auto sp = tx.savepoint();
            tx.erase<users>(f.naruto);
            CHECK(tx.count<comments>() == 1);
            sp.rollback();
        }
        CHECK(f.counts(tx) == before);
        tx.commit();
    }
    SECTION("a transaction dropped without commit") {
        auto tx = f.db.write();
        tx.clear<invoices>();
        CHECK(tx.clear<users>() == 10);
    }

    auto q = f.db.read();
    CHECK(f.counts(q) == before);
    const User& naruto = q.get<users>(f.naruto);
    CHECK(q.count_children<&Post::author_id>(naruto) == 2);
    CHECK(q.children<&Profile::user_id>(naruto).first()->bio == "hokage");
    CHECK(q.get<posts>(f.p3).editor_id == f.naruto);
    CHECK(&*q.parent<&Post::editor_id>(q.get<posts>(f.p3)) == &naruto);
}

TEST_CASE("clearing a table applies every row's actions or none", "[relationship][delete]") {
    fixture f;
    auto tx = f.db.write();
    auto e = constraint_error_from([&] { tx.clear<users>(); });
    CHECK(e.code() == relstore::make_error_code(relstore::errc::restrict_violation));
    CHECK(f.counts(tx) == std::vector<std::size_t>{2, 3, 4, 1, 1});

    tx.clear<invoices>();
    CHECK(tx.clear<users>() == 2 + 3 + 4 + 1);
    CHECK(f.counts(tx) == std::vector<std::size_t>{0, 0, 0, 0, 0});
}

TEST_CASE("a one-to-one key gives at most one row each way", "[relationship][one-to-one]") {
    fixture f;
    auto tx = f.db.write();
    const User& naruto = tx.get<users>(f.naruto);
    const User& sasuke = tx.get<users>(f.sasuke);
    const Profile& profile = *tx.children<&Profile::user_id>(naruto).first();

    CHECK(&tx.parent<&Profile::user_id>(profile) == &naruto);
    CHECK(tx.children<&Profile::user_id>(sasuke).first() == nullptr);

    SECTION("a second profile for the same user is refused") {
        auto e = constraint_error_from([&] { tx.insert(Profile{.user_id = f.naruto, .bio = "again"}); });
        CHECK(e.code() == relstore::make_error_code(relstore::errc::unique_violation));
        CHECK(e.table() == "profiles");
        CHECK(e.columns() == "user_id");
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("profiles.user_id = 1 already exists"));
        CHECK(tx.count<profiles>() == 1);
    }
    SECTION("moving a profile onto a user that has one is refused") {
        const Profile& other = tx.insert(Profile{.user_id = f.sasuke, .bio = "avenger"});
        auto e = constraint_error_from([&] { tx.update(other, [&](Profile& p) { p.user_id = f.naruto; }); });
        CHECK(e.code() == relstore::make_error_code(relstore::errc::unique_violation));
        CHECK(other.user_id == f.sasuke);
        CHECK(tx.children<&Profile::user_id>(sasuke).first() == &other);
    }
    SECTION("a profile for no user is refused") {
        auto e = constraint_error_from([&] { tx.insert(Profile{.user_id = 9}); });
        CHECK(e.code() == relstore::make_error_code(relstore::errc::foreign_key_violation));
    }
    SECTION("a profile may move to a user without one") {
        tx.update(profile, [&](Profile& p) { p.user_id = f.sasuke; });
        CHECK(tx.children<&Profile::user_id>(naruto).empty());
        CHECK(tx.children<&Profile::user_id>(sasuke).first() == &profile);
    }
}

}  // namespace integrity_test
