echo "${BASH_VERSION:+bash}"
