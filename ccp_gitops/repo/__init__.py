"""The env git repository: read trees and files, write and commit compiled trees."""
