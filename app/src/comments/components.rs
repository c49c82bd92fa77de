//! A post's comment thread on its page: who wrote what and when, a box to add to it, and delete for the author and admins.

use crate::{
    comments::{
        api::{AddComment, DeleteComment},
        types::{COMMENT_LIMIT, CommentView, comment_problem},
    },
    ui::FormError,
};
use leptos::prelude::*;
use uuid::Uuid;

/// The thread of `post_id` as the post's page loaded it; `add` and `delete` are the page's
/// actions, so the page loads the post and its thread again once one completed.
#[component]
pub fn CommentThread(
    post_id: Uuid,
    comments: Vec<CommentView>,
    add: ServerAction<AddComment>,
    delete: ServerAction<DeleteComment>,
    /// The text being written, kept by the page across reloads.
    draft: RwSignal<String>,
) -> impl IntoView {
    let body = draft;
    // The box empties once the server took the comment.
    Effect::new(move |_| {
        if let Some(Ok(())) = add.value().get() {
            body.set(String::new());
        }
    });
    let problem = Memo::new(move |_| comment_problem(&body.get()).filter(|_| !body.with(String::is_empty)));
    let submit = move || {
        if comment_problem(&body.get_untracked()).is_none() {
            add.dispatch(AddComment { post_id, body: body.get_untracked() });
        }
    };
    let error = Signal::derive(move || {
        add.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err))
    });
    let list = if comments.is_empty() {
        view! { <p class="hint">"No comments yet."</p> }.into_any()
    } else {
        view! {
            <ol class="comment-list">
                {comments.into_iter().map(|comment| view! {
                    <li class="comment">
                        <p class="comment-meta"><strong class="comment-author">{comment.author}</strong>
                            " · " <time>{comment.when_label}</time>
                            {comment.can_delete.then(|| view! {
                                " · " <button type="button" class="link danger" on:click=move |_| {
                                    delete.dispatch(DeleteComment { comment_id: comment.id });
                                }>"Delete"</button>
                            })}
                        </p>
                        <p class="comment-body">{comment.body}</p>
                    </li>
                }).collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <section class="card comments" aria-labelledby="comments-title">
            <h2 id="comments-title">"Comments"</h2>
            {list}
            <form class="comment-form" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <label for="comment-body">"Add a comment"</label>
                <textarea id="comment-body" rows="3" maxlength=COMMENT_LIMIT.to_string()
                    prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                <p class="field-error" role="alert">{move || problem.get()}</p>
                <FormError error fields=&[]/>
                <button type="submit" class="primary" disabled=move || add.pending().get() || comment_problem(&body.get()).is_some()>"Comment"</button>
            </form>
        </section>
    }
    .into_any()
}
