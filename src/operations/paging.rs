//! Results in pages and calls in batches: how a caller reads a long listing without holding
//! all of it, and pipes many inputs through one call. Both are declared per operation
//! ([`super::Operation::paged`], [`super::Operation::batched`]) and shown by ck_describe as
//! `Pages` and `Batch`.
//!
//! A page is asked for with a `$Page` member beside the arguments, `{"Size": n, "After":
//! token}`, and answered as `{"Items": [...], "NextPage": token | null}`; the token is the
//! operation's own and opaque to callers. A batch is a JSON array of argument objects, answered
//! as an array of `{"Status": 0, "Result": ...}` or `{"Status": n, "Error": envelope}` in the
//! same order: each item is a call of its own (validated, access-checked and audited alone).

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// The member of the arguments that asks for a page.
pub const PAGE_MEMBER: &str = "$Page";
/// The most results one page may hold.
pub const MAX_PAGE_SIZE: i64 = 10_000;
/// The most calls one batch may hold: one ck_call's answer stays a bounded size.
pub const MAX_BATCH_ITEMS: usize = 10_000;

/// One page asked for: how many results, after which token (none: the first page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub size: usize,
    pub after: Option<String>,
}

impl Page {
    /// The page `$Page` asks for, and the arguments without it; (None, unchanged) when the
    /// arguments ask for none. `pages` says whether the operation pages its results.
    pub fn split(operation: &str, pages: bool, arguments: &Value) -> Result<Option<(Page, Value)>> {
        let Some(map) = arguments.as_object() else {
            return Ok(None);
        };
        let Some(request) = map.get(PAGE_MEMBER) else {
            return Ok(None);
        };
        if !pages {
            return Err(Error::invalid_argument(
                PAGE_MEMBER,
                format!("{operation} does not give its results in pages; ck_describe shows Pages for the operations that do"),
            ));
        }
        let size = request.get("Size").and_then(Value::as_i64).ok_or_else(|| {
            Error::invalid_argument(
                "$Page.Size",
                "must be given, a whole number of results per page",
            )
        })?;
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(Error::invalid_argument(
                "$Page.Size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after = match request.get("After") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(token.clone()),
            Some(_) => {
                return Err(Error::invalid_argument(
                    "$Page.After",
                    "must be the NextPage token of the previous page, or null for the first",
                ))
            }
        };
        if let Some(unknown) = request
            .as_object()
            .and_then(|r| r.keys().find(|k| *k != "Size" && *k != "After"))
        {
            return Err(Error::invalid_argument(
                "$Page",
                format!("has no member '{unknown}'; it takes Size and After"),
            ));
        }
        let rest: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| *k != PAGE_MEMBER)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let size = size as usize;
        Ok(Some((Page { size, after }, Value::Object(rest))))
    }

    /// The token as the number an operation put in it (a row's position in its listing).
    pub fn after_position(&self) -> Result<Option<i64>> {
        self.after
            .as_deref()
            .map(|token| {
                token.parse::<i64>().map_err(|_| {
                    Error::invalid_argument(
                        "$Page.After",
                        "is not a NextPage token this operation gave",
                    )
                })
            })
            .transpose()
    }
}

/// A page's answer: the items' JSON text inside `{"Items": ..., "NextPage": ...}`.
pub fn page_text(items: &str, next: Option<&str>) -> Zeroizing<String> {
    let next = match next {
        Some(token) => Value::String(token.to_string()).to_string(),
        None => "null".to_string(),
    };
    let mut text = Zeroizing::new(String::with_capacity(items.len() + next.len() + 24));
    text.push_str("{\"Items\":");
    text.push_str(items);
    text.push_str(",\"NextPage\":");
    text.push_str(&next);
    text.push('}');
    text
}

/// One batch item's answer, appended to the batch's array text.
pub fn push_batch_item(out: &mut Zeroizing<String>, answer: Result<Zeroizing<String>>) {
    if out.len() > 1 {
        out.push(',');
    }
    match answer {
        Ok(result) => {
            out.push_str("{\"Status\":0,\"Result\":");
            out.push_str(&result);
            out.push('}');
        }
        Err(e) => {
            out.push_str(&format!("{{\"Status\":{},\"Error\":", e.status as i32));
            out.push_str(&e.envelope().to_string());
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_request_is_split_from_the_arguments_and_checked() {
        let (page, rest) = Page::split(
            "Get-Mailbox",
            true,
            &json!({"$Page": {"Size": 5, "After": "7"}, "Identity": "x"}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(page.size, 5);
        assert_eq!(page.after_position().unwrap(), Some(7));
        assert_eq!(rest, json!({"Identity": "x"}));
        assert!(Page::split("Get-Mailbox", true, &json!({"Identity": "x"}))
            .unwrap()
            .is_none());
        for (request, parameter) in [
            (json!({"Size": 0}), "$Page.Size"),
            (json!({"Size": 10001}), "$Page.Size"),
            (json!({"After": "1"}), "$Page.Size"),
            (json!({"Size": 1, "After": 3}), "$Page.After"),
            (json!({"Size": 1, "Cursor": "3"}), "$Page"),
        ] {
            let e = Page::split("Get-Mailbox", true, &json!({ "$Page": request })).unwrap_err();
            assert_eq!(e.target, parameter, "{e}");
        }
        let refused = Page::split("Get-KeyVault", false, &json!({"$Page": {"Size": 1}}));
        assert!(refused
            .unwrap_err()
            .message
            .contains("does not give its results in pages"));
        let page = Page {
            size: 1,
            after: Some("x".into()),
        };
        assert_eq!(page.after_position().unwrap_err().target, "$Page.After");
    }

    #[test]
    fn pages_and_batches_are_written_as_documented() {
        let page: Value = serde_json::from_str(&page_text("[1,2]", Some("9"))).unwrap();
        assert_eq!(page, json!({"Items": [1, 2], "NextPage": "9"}));
        let last: Value = serde_json::from_str(&page_text("[]", None)).unwrap();
        assert_eq!(last, json!({"Items": [], "NextPage": null}));
        let mut batch = Zeroizing::new(String::from("["));
        push_batch_item(&mut batch, Ok(Zeroizing::new("{\"A\":1}".into())));
        push_batch_item(
            &mut batch,
            Err(Error::not_found("MailboxNotFound", "no such", "x")),
        );
        batch.push(']');
        let batch: Value = serde_json::from_str(&batch).unwrap();
        assert_eq!(batch[0], json!({"Status": 0, "Result": {"A": 1}}));
        assert_eq!(batch[1]["Error"]["error"]["code"], "MailboxNotFound");
        assert!(batch[1]["Status"].as_i64().unwrap() > 0);
    }
}
