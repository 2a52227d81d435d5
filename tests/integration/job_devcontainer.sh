#!/usr/bin/env bash
# container: auto with a .devcontainer/devcontainer.json: the job runs in the devcontainer's
# image (imported with `hutch image import`), as its remoteUser, in its workspaceFolder, with
# its containerEnv; configurations that need a build are refused with advice.
. "$(dirname "$0")/../lib.sh"
t_begin

MKIMAGE=$(realpath "$(dirname "$0")/../../tools/mkimage")

hjd() { # hutch job without --rootfs: the image comes from the job or the devcontainer
    HR_N=$((HR_N + 1))
    ev=$C_DIR/hj.$HR_N.jsonl
    hr_exec "$C_DIR/hj.$HR_N" job --events "$ev" "$@"
}

# An OCI image NAME:TAG with /etc/marker saying NAME, imported into the test's store.
import_image() { # NAME:TAG
    echo "$1" >"$C_DIR/marker"
    "$MKIMAGE" --oci "$C_DIR/oci.$$" --tag "$1" --add "$C_DIR/marker:/etc/marker" \
        --cache "$C_DIR/mkimage-cache" >/dev/null 2>"$C_DIR/mkimage.err" ||
        skip "mkimage --oci failed: $(tail -n 3 "$C_DIR/mkimage.err")"
    "$HUTCH" image import "$C_DIR/oci.$$" >/dev/null 2>"$C_DIR/import.err" ||
        skip "hutch image import is not available: $(tail -n 3 "$C_DIR/import.err")"
    rm -rf "$C_DIR/oci.$$"
}

test_devcontainer_image_user_folder_env() {
    import_image devimg:1
    mkdir -p ws/.devcontainer
    cat >ws/.devcontainer/devcontainer.json <<'EOF'
// the project's dev container
{
  "name": "project",
  "image": "devimg:1",
  "remoteUser": "tester", /* from the image's /etc/passwd */
  "workspaceFolder": "/src/${localWorkspaceFolderBasename}",
  "containerEnv": {
    "IN_DEVCONTAINER": "yes",
    "WS": "${containerWorkspaceFolder}",
    "TOKEN": "${localEnv:HUTCH_TEST_SECRET:not-read}",
  },
}
EOF
    cat >ws/.hutch.yaml <<'EOF'
command: echo "marker=$(cat /etc/marker) user=$(id -un) pwd=$(pwd) dc=$IN_DEVCONTAINER ws=$WS home=$HOME"; ls; echo "token=$TOKEN"
EOF
    touch ws/checkout-file
    HUTCH_TEST_SECRET=s3cret hjd --workspace ws
    assert_status 0
    ev_output_bytes stdout "$C_DIR/stdout"
    assert_line "$(cat "$C_DIR/stdout")" \
        "marker=devimg:1 user=tester pwd=/src/ws dc=yes ws=/src/ws home=/home/tester"
    assert_line "$(cat "$C_DIR/stdout")" "checkout-file"
    # the caller's environment is not read into the sandbox through ${localEnv:...}
    assert_line "$(cat "$C_DIR/stdout")" "token=not-read"
    assert_event sandbox.create .image '"devimg:1"'
    # the job file's own settings win over the devcontainer's, and flags over both
    cat >ws/.hutch.yaml <<'EOF'
command: echo "user=$(id -un) dc=$IN_DEVCONTAINER"
user: root
env: {IN_DEVCONTAINER: overridden}
EOF
    hjd --workspace ws -e IN_DEVCONTAINER=flag
    assert_status 0
    ev_output_bytes stdout "$C_DIR/stdout"
    assert_line "$(cat "$C_DIR/stdout")" "user=root dc=flag"
    # devcontainer: false skips it; container.image is used then
    import_image other:2
    cat >ws/.hutch.yaml <<'EOF'
command: cat /etc/marker
container: {image: "other:2", devcontainer: false}
EOF
    hjd --workspace ws
    assert_status 0
    assert_contains "$out" "other:2"
}

test_devcontainer_needing_a_build_is_refused() {
    mkdir -p ws/.devcontainer
    cat >ws/.devcontainer/devcontainer.json <<'EOF'
{ "build": { "dockerfile": "Dockerfile" } }
EOF
    echo 'command: "true"' >ws/.hutch.yaml
    hjd --workspace ws
    assert_status 125
    assert_one_error_line "devcontainer.json"
    assert_contains "$err" "building images is not supported yet"
    assert_contains "$err" "hutch image import"
}

test_missing_images_say_how_to_import() {
    mkdir -p ws
    printf 'command: "true"\ncontainer: {image: "nosuch:1"}\n' >ws/.hutch.yaml
    hjd --workspace ws
    assert_status 125
    assert_one_error_line "nosuch:1"
    assert_contains "$err" "hutch image import"
    printf 'command: "true"\ncontainer: {devcontainer: true}\n' >ws/.hutch.yaml
    hjd --workspace ws
    assert_status 125
    assert_one_error_line "ws/.hutch.yaml:2:12"
    assert_contains "$err" "no .devcontainer/devcontainer.json"
}

test_case "a devcontainer workspace runs in its image, user, folder, env" \
    test_devcontainer_image_user_folder_env
test_case "a devcontainer that needs a build is refused with advice" \
    test_devcontainer_needing_a_build_is_refused
test_case "a missing image says how to import one" test_missing_images_say_how_to_import
t_end
