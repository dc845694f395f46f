//! Approve or reject a model version: two forms, as the callback panel has (a plain post carries only its
//! own fields, and a script's post sends the form's fields, never the button pressed). On a group's page
//! and in the inbox, which may post to another place's server function.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::components::post_form::{PostError, PostForm, Posting};
use crate::registry::DecideModel;

#[component]
pub fn DecideForms(
    group: String,
    arn: String,
    /// The place whose server function decides (the inbox's other places); this page's by default.
    #[prop(optional, into)]
    under: Option<String>,
    /// Back to the inbox after deciding, rather than to the group's page.
    #[prop(optional)]
    to_inbox: bool,
) -> impl IntoView {
    let (approve, reject) = (Posting::new(), Posting::new());
    let hidden = move |verdict: &'static str| {
        let (group, arn) = (group.clone(), arn.clone());
        view! {
            <input type="hidden" name="group" value=group/>
            <input type="hidden" name="arn" value=arn/>
            <input type="hidden" name="verdict" value=verdict/>
            {to_inbox.then(|| view! { <input type="hidden" name="back" value=stepline_types::inbox::Back::Inbox.as_str()/> })}
        }
    };
    let (approve_hidden, reject_hidden) = (hidden("approve"), hidden("reject"));
    view! {
        <div class="callback-forms" data-testid="decide-form">
            <PostForm to=DecideModel::PATH posting=approve under=under.clone() attr:class="inline">
                {approve_hidden}
                <label>"Comment "<input type="text" name="comment" size="30" maxlength="1024" placeholder="optional"/></label>
                <button type="submit" class="primary" disabled=move || approve.pending.get() data-testid="approve-model">"Approve"</button>
            </PostForm>
            <PostForm to=DecideModel::PATH posting=reject under=under attr:class="inline">
                {reject_hidden}
                <label>"Reason "<input type="text" name="comment" size="30" maxlength="1024" placeholder="why it is rejected" data-testid="reject-reason"/></label>
                <button type="submit" class="danger" disabled=move || reject.pending.get() data-testid="reject-model">"Reject"</button>
            </PostForm>
        </div>
        <PostError posting=approve/>
        <PostError posting=reject/>
    }
}
