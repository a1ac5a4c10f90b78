use eventosaurus::query::begins_with;
use eventosaurus_testkit::events::PhoneCall;

fn main() {
    // BEGINS_WITH only applies to strings; person_id is a number.
    let _ = PhoneCall::query().by_person_id(begins_with(5));
}
