//! Email templates. Each message is a pair (`templates/email/NAME.txt` and `NAME.html`) so
//! every client shows something readable; HTML is escaped by askama.

use askama::Template;

/// A rendered email, ready for the outbox.
#[derive(Debug, Clone)]
pub struct ComposedEmail {
    pub template: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders a text/HTML pair from one set of fields.
macro_rules! email_pair {
    ($name:ident, $file:literal, $text:ident = $text_path:tt, $html:ident = $html_path:tt,
     { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone)]
        pub struct $name { $(pub $field: $ty),* }

        #[derive(Template)]
        #[template(path = $text_path)]
        struct $text<'a> { $($field: &'a $ty),* }

        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> { $($field: &'a $ty),* }

        impl $name {
            pub const TEMPLATE: &'static str = $file;

            fn render_pair(&self) -> Result<(String, String), askama::Error> {
                let text = $text { $($field: &self.$field),* }.render()?;
                let html = $html { $($field: &self.$field),* }.render()?;
                Ok((text, html))
            }
        }
    };
}

email_pair!(ResetLink, "reset_link",
    ResetLinkText = "email/reset_link.txt", ResetLinkHtml = "email/reset_link.html", {
    name: String,
    city: String,
    username: String,
    link: String,
    minutes: u64,
});

email_pair!(PasswordChanged, "password_changed",
    PasswordChangedText = "email/password_changed.txt",
    PasswordChangedHtml = "email/password_changed.html", {
    name: String,
    city: String,
    username: String,
    how: String,
    not_me_link: String,
});

impl ResetLink {
    pub fn compose(&self) -> Result<ComposedEmail, askama::Error> {
        let (text, html) = self.render_pair()?;
        Ok(ComposedEmail {
            template: Self::TEMPLATE,
            subject: format!("{}: reset your contractor portal password", self.city),
            text,
            html,
        })
    }
}

impl PasswordChanged {
    pub fn compose(&self) -> Result<ComposedEmail, askama::Error> {
        let (text, html) = self.render_pair()?;
        Ok(ComposedEmail {
            template: Self::TEMPLATE,
            subject: format!("{}: your contractor portal password was changed", self.city),
            text,
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let m = ResetLink {
            name: "Pat <O'Neil> & Sons".into(),
            city: "Westminster".into(),
            username: "C-1001".into(),
            link: "https://portal.example/reset/abc".into(),
            minutes: 60,
        }
        .compose()
        .unwrap();
        assert!(m.text.contains("Pat <O'Neil> & Sons"));
        assert!(
            m.html.contains("Pat &#60;O&#39;Neil&#62; &#38; Sons") || m.html.contains("Pat &lt;O"),
            "{}",
            m.html
        );
        assert!(m.text.contains("https://portal.example/reset/abc"));
        assert!(m.text.contains("60 minutes"));
        assert_eq!(m.template, "reset_link");
    }
}
