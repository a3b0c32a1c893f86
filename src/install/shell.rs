//! Shell words. Claude Code runs hook and status line commands through a shell, so the
//! binary path and a chained status line command we write into settings.json must be
//! quoted, and `uninstall` must read the chained command back exactly as it was.

/// Quote `word` for a POSIX shell. Words made only of characters no shell treats
/// specially are left bare, so ordinary paths stay readable in settings.json.
pub fn quote(word: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-./+:@%=,".contains(c);
    if !word.is_empty() && word.chars().all(bare) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Split `command` into words the way `sh` would, for commands that are plain words with
/// quoting (what `quote` produces, and what people write by hand). `None` when the command
/// uses anything whose meaning depends on the shell at run time: expansions (`$`, backquotes,
/// a leading `~`, globs), operators, redirections, comments or an unclosed quote.
pub fn split(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => word.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' => return None,
                        '\\' => match chars.next()? {
                            escaped @ ('$' | '`' | '"' | '\\') => word.push(escaped),
                            '\n' => {}
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        other => word.push(other),
                    }
                }
            }
            '\\' => match chars.next()? {
                '\n' => {}
                escaped => {
                    in_word = true;
                    word.push(escaped);
                }
            },
            '~' | '#' if !in_word => return None,
            '$' | '`' | ';' | '|' | '&' | '<' | '>' | '(' | ')' | '\n' | '*' | '?' | '[' => {
                return None;
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_stay_bare() {
        assert_eq!(
            quote("/home/me/.local/bin/bedrock-hook"),
            "/home/me/.local/bin/bedrock-hook"
        );
        assert_eq!(quote("/my dir/bedrock-hook"), "'/my dir/bedrock-hook'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn quote_then_split_gives_the_word_back() {
        let hard = [
            "starship statusline claude-code",
            "printf '%s\\n' \"it's $HOME\"",
            "echo `date`; exit 0",
            "a\\b \\\\ \" ' ''",
            "ünïcödé ~/x *",
            "multi\nline",
            "",
        ];
        for word in hard {
            let command = format!("bin --chain {}", quote(word));
            assert_eq!(
                split(&command),
                Some(vec!["bin".into(), "--chain".into(), word.into()]),
                "{command}"
            );
        }
    }

    #[test]
    fn reads_the_usual_hand_written_forms() {
        assert_eq!(
            split(r#"  "/a b/bedrock-hook"  statusline --chain "say \"hi\" \$x"  "#),
            Some(vec![
                "/a b/bedrock-hook".into(),
                "statusline".into(),
                "--chain".into(),
                r#"say "hi" $x"#.into(),
            ])
        );
        assert_eq!(split(r"a\ b c\\d"), Some(vec!["a b".into(), r"c\d".into()]));
        assert_eq!(split("--chain=x"), Some(vec!["--chain=x".into()]));
        assert_eq!(split("''"), Some(vec![String::new()]));
    }

    #[test]
    fn refuses_what_only_a_shell_can_know() {
        for command in [
            "$HOME/bin/x",
            "a; b",
            "a | b",
            "a && b",
            "a > f",
            "`x`",
            "\"$x\"",
            "~/bin/x",
            "x *",
            "x # comment",
            "'unclosed",
            "\"unclosed",
            "trailing\\",
        ] {
            assert_eq!(split(command), None, "{command}");
        }
        // A tilde or hash inside a word is literal.
        assert_eq!(split("a~b c#d"), Some(vec!["a~b".into(), "c#d".into()]));
    }
}
