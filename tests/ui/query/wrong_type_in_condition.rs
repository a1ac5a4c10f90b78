use eventosaurus::query::{between, gt};
use eventosaurus_testkit::events::PhoneCall;

fn main() {
    // created_at is a string, phone_number too: numbers do not compare with them.
    let _ = PhoneCall::query().by_created_at(gt(2015));
    let _ = PhoneCall::query().by_person_id(5).by_phone_number(between(1, 9));
}
