"""Every address that points at the repository, derived from the one setting `repo_url` in
mkdocs.yml: "edit this page", the Colab links (to the notebooks the deploy publishes on a branch),
the install and clone commands, and the licence links in the footer."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

# The deploy workflow (.github/workflows/deploy.yml) pushes the site's notebooks/ folder, exactly,
# to this branch; Colab opens a notebook from a GitHub path.
NOTEBOOKS_DIR = "notebooks"
NOTEBOOKS_BRANCH = "notebooks"
DEFAULT_BRANCH = "main"
PACKAGE_NAME = "attention-atlas"


@dataclass(frozen=True)
class Repository:
    url: str  # https://github.com/<owner>/<name>

    @classmethod
    def of_config(cls, config) -> "Repository":
        return cls(str(config["repo_url"]).rstrip("/"))

    @property
    def slug(self) -> str:
        """<owner>/<name>"""
        return urlsplit(self.url).path.strip("/").removesuffix(".git")

    def edit(self, path: str) -> str:
        return f"{self.url}/edit/{DEFAULT_BRANCH}/{path}"

    def blob(self, path: str) -> str:
        return f"{self.url}/blob/{DEFAULT_BRANCH}/{path}"

    def colab(self, slug: str) -> str:
        """Google Colab on the published self-contained notebook of a mechanism page."""
        return f"https://colab.research.google.com/github/{self.slug}/blob/{NOTEBOOKS_BRANCH}/{slug}.ipynb"

    @property
    def clone(self) -> str:
        return f"git clone {self.url}.git"

    @property
    def pip_install(self) -> str:
        return f'pip install "{PACKAGE_NAME} @ git+{self.url}.git"'


def notebook_uri(slug: str) -> str:
    """Where a mechanism's self-contained notebook lies in the built site (and on the branch, without the folder)."""
    return f"{NOTEBOOKS_DIR}/{slug}.ipynb"
