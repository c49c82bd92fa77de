//! A post's comment thread on its page: who wrote what and when, a box to add to it, and delete for the author and admins.

use crate::{
    comments::{
        api::{AddComment, DeleteComment, list_comments},
        types::{COMMENT_LIMIT, comment_problem},
    },
    request_scope::page_resource,
    ui::FormError,
};
use leptos::prelude::*;
use uuid::Uuid;

/// The thread of `post_id`, reloaded after each comment added or deleted.
#[component]
pub fn CommentThread(post_id: Uuid) -> impl IntoView {
    let add = ServerAction::<AddComment>::new();
    let delete = ServerAction::<DeleteComment>::new();
    let comments = page_resource(move || (post_id, add.version().get(), delete.version().get()), |(id, ..)| list_comments(id));
    let body = RwSignal::new(String::new());
    // The box empties once the server took the comment.
    Effect::new(move |_| {
        if let Some(Ok(())) = add.value().get() {
            body.set(String::new());
        }
    });
    let problem = Memo::new(move |_| comment_problem(&body.get()).filter(|_| !body.with(String::is_empty)));
    let submit = move |_| {
        if comment_problem(&body.get_untracked()).is_none() {
            add.dispatch(AddComment { post_id, body: body.get_untracked() });
        }
    };
    let error = Signal::derive(move || {
        add.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err))
    });
    view! {
        <section class="card comments" aria-labelledby="comments-title">
            <h2 id="comments-title">"Comments"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match comments.await {
                        Ok(list) if list.is_empty() => view! { <p class="hint">"No comments yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ol class="comment-list">
                                {list.into_iter().map(|comment| view! {
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
                        }.into_any(),
                        Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <form class="comment-form" on:submit=move |ev| { ev.prevent_default(); submit(()); }>
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
