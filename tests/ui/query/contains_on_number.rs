use eventosaurus::query::contains;
use eventosaurus_testkit::events::PhoneCall;

fn main() {
    // CONTAINS applies to strings, lists and sets; person_id is a number.
    let _ = PhoneCall::query().by_person_id(contains(5));
}
