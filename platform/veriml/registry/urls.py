from django.urls import path

from veriml.registry.views import DatasetDetailView, DatasetListView, ModelDetailView, ModelListView

app_name = "registry"

urlpatterns = [
    path("models/", ModelListView.as_view(), name="models"),
    path("models/<str:pk>/", ModelDetailView.as_view(), name="model"),
    path("datasets/", DatasetListView.as_view(), name="datasets"),
    path("datasets/<str:pk>/", DatasetDetailView.as_view(), name="dataset"),
]
